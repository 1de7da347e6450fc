// The manager's tick form: typing an amount ticks its row (the server does the same when script
// is off, and the preview says so); unticking a row puts back what the page pre-filled, so an
// unticked row is really left out; the side panel counts the ticked rows and their total; the
// header's box ticks the whole page.
// Amounts are handled as whole fen, never as floating-point yuan.
(function () {
  "use strict";
  var form = document.querySelector("[data-bulk-form]");
  var summary = document.querySelector("[data-selected-total]");
  if (!form) return;
  var YUAN = /^\s*(\d+)(?:\.(\d{1,2}))?\s*$/;

  function fen(text) {
    var match = YUAN.exec(text);
    if (!match) return null;
    return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
  }

  function yuan(total) {
    return Math.floor(total / 100) + "." + String(total % 100).padStart(2, "0");
  }

  var pickPage = form.querySelector("[data-pick-page]");
  var rows = form.querySelectorAll("tr[data-row]");

  function refresh() {
    var count = 0, total = 0, unreadable = 0;
    rows.forEach(function (row) {
      var tick = row.querySelector("input[type=checkbox]");
      if (!tick.checked) return;
      count += 1;
      var amount = fen(row.querySelector("input.amount-input").value);
      if (amount === null) unreadable += 1; else total += amount;
    });
    if (pickPage) pickPage.checked = rows.length > 0 && count === rows.length;
    if (!summary) return;
    summary.textContent = summary.getAttribute("data-template")
      .replace("{count}", count).replace("{total}", yuan(total))
      + (unreadable ? " " + summary.getAttribute("data-unreadable").replace("{count}", unreadable) : "");
    summary.hidden = false;
  }

  rows.forEach(function (row) {
    var tick = row.querySelector("input[type=checkbox]");
    var amount = row.querySelector("input.amount-input");
    amount.addEventListener("input", function () {
      if (amount.value.trim() !== "") tick.checked = true;
      refresh();
    });
    tick.addEventListener("change", function () {
      if (!tick.checked) amount.value = amount.getAttribute("data-prefill") || "";
      refresh();
    });
  });
  // 本页全选: tick every row of this page (amounts as pre-filled), or untick them all; the box is
  // ticked while every row is.
  if (pickPage) {
    pickPage.hidden = false;
    pickPage.addEventListener("change", function () {
      rows.forEach(function (row) {
        var tick = row.querySelector("input[type=checkbox]");
        var amount = row.querySelector("input.amount-input");
        tick.checked = pickPage.checked;
        if (!pickPage.checked || amount.value.trim() === "") amount.value = amount.getAttribute("data-prefill") || "";
      });
      refresh();
    });
  }
  refresh();
})();
