// Buttons marked data-print print the page: no inline onclick, so the CSP can forbid inline script.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
