// The resident pay form: while 缴清欠费 is chosen the amount field is out of play (hidden and
// disabled, so it is not even sent), so what the page says is what will be charged.
(function () {
  "use strict";
  var form = document.querySelector("[data-pay-form]");
  if (!form) return;
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
