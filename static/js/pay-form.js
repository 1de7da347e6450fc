// The resident pay form: while 缴清欠费 is chosen the amount field is out of play (hidden and
// disabled, so it is not even sent), so what the page says is what will be charged.  A quick amount
// (50/100/200 元) fills the field in place; without script its link reloads the form filled in.
(function () {
  "use strict";
  var form = document.querySelector("[data-pay-form]");
  if (!form) return;
  form.querySelectorAll("[data-quick-amount]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var input = form.querySelector("input[name=amount]"), prepay = form.querySelector("input[name=what][value=prepay]");
      if (!input) return;
      event.preventDefault();
      input.value = link.dataset.quickAmount;
      if (prepay) { prepay.checked = true; prepay.dispatchEvent(new Event("change")); }
      form.querySelectorAll("[data-quick-amount]").forEach(function (other) { other.classList.toggle("chosen", other === link); });
    });
  });
  var field = form.querySelector("[data-amount-field]");
  var amount = form.querySelector("input[name=amount]");
  var arrears = form.querySelector("input[name=what][value=arrears]");
  if (!field || !amount || !arrears) return;
  function update() {
    amount.disabled = arrears.checked;
    field.hidden = arrears.checked;
  }
  form.querySelectorAll("input[name=what]").forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
})();
