// Counter entry form: show the holder and balance of each 户号 as soon as ten digits are typed.
// Only a help: without JavaScript the confirm page shows the same before any money is taken.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.counter-entry[data-lookup]");
  if (!form) return;
  const lookup = async (input) => {
    const shown = input.parentElement.querySelector(".lookup");
    const value = input.value.trim();
    shown.textContent = "";
    shown.classList.remove("arrears", "missing");
    if (!/^\d{10}$/.test(value)) return;
    try {
      const response = await fetch(form.dataset.lookup + value, { headers: { Accept: "application/json" } });
      const body = await response.json();
      if (input.value.trim() !== value) return; // typed on meanwhile
      shown.textContent = response.ok ? body.text : body.error.message;
      shown.classList.toggle("missing", !response.ok);
      shown.classList.toggle("arrears", response.ok && body.balance_fen < 0);
    } catch (error) {
      shown.textContent = "";
    }
  };
  form.querySelectorAll("input[name^='account_no-']").forEach((input) => {
    input.addEventListener("input", () => lookup(input));
    if (input.value) lookup(input);
  });
});
