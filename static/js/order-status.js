// A result page waiting for the channel: post its 刷新结果 form in the background every few
// seconds (the CSRF token goes in a header), reload once the order is paid, closed or expired,
// and stop after a bounded number of tries, saying so, instead of waiting forever.
(function () {
  "use strict";
  var form = document.querySelector("form[data-poll]");
  if (!form || !window.fetch) return;
  var seconds = Number(form.getAttribute("data-poll-seconds")) || 3;
  var limit = Number(form.getAttribute("data-poll-limit")) || 40;
  var token = form.querySelector("input[name=csrf_token]").value;
  var tries = 0;

  function stop() {
    var stopped = document.querySelector("[data-poll-stopped]");
    var note = document.querySelector("[data-poll-note]");
    if (stopped) stopped.hidden = false;
    if (note) note.hidden = true;
  }

  function later() {
    if (tries >= limit) stop();
    else window.setTimeout(ask, seconds * 1000);
  }

  function ask() {
    tries += 1;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": token}
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    }).then(function (answer) {
      if (answer.done) window.location.reload();
      else later();
    }).catch(later);
  }

  later();
})();
