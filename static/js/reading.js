// Reading entry form: say while the reader types whether the total is inside the expected range.
// Only a help: without JavaScript the server shows the same warning after the first save.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.reading-form");
  if (!form) return;
  const input = form.querySelector("#total");
  const shown = form.querySelector(".range-check");
  const low = form.dataset.low === undefined ? null : Number(form.dataset.low);
  const high = form.dataset.high === undefined ? null : Number(form.dataset.high);
  // kWh with at most two decimals -> Wh, in integers (as the server parses it).
  const toWh = (text) => {
    const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text.trim());
    return match ? Number(match[1]) * 1000 + Number((match[2] || "0").padEnd(2, "0")) * 10 : null;
  };
  const check = () => {
    shown.classList.remove("in-range", "out-of-range");
    shown.textContent = "";
    if (!input.value.trim() || low === null) return;
    const wh = toWh(input.value);
    if (wh === null) {
      shown.textContent = form.dataset.notNumber;
      shown.classList.add("out-of-range");
      return;
    }
    const inside = wh >= low && (high === null || wh <= high);
    shown.textContent = inside ? form.dataset.inRange : form.dataset.outOfRange;
    shown.classList.add(inside ? "in-range" : "out-of-range");
  };
  input.addEventListener("input", check);
  if (input.getAttribute("aria-invalid") !== "true") check(); // else the server's message is already there
});
