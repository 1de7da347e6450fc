// Buttons marked data-print print the page: no inline onclick, so the CSP can forbid inline script.
// Such a button does nothing without script, so templates may mark it hidden and it is shown here.
document.querySelectorAll("[data-print][hidden]").forEach(function (button) { button.hidden = false; });
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
