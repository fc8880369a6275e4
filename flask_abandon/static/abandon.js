/* flask-abandon: send the checkout email to the shop as it is typed.
 *
 * Include with <script src="{{ url_for('abandon.static', filename='abandon.js') }}" defer>
 * and mark the field: <input type="email" data-abandon-email data-abandon-kind="cart">.
 * Only an address that looks valid is sent, once typing pauses.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var endpoint = (script && script.dataset.endpoint) ||
    (script ? script.src.replace(/\/static\/abandon\.js(\?.*)?$/, "/track") : "/abandon/track");
  var pattern = /^[^\s@]+@[^\s@]+\.[^\s@]{2,}$/;
  var delay = 800;

  function watch(input) {
    var timer = null;
    var lastSent = null;

    function send() {
      var email = input.value.trim();
      if (email === lastSent || !pattern.test(email) || !input.checkValidity()) {
        return;
      }
      lastSent = email;
      fetch(endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ kind: input.dataset.abandonKind || "cart", email: email })
      }).catch(function () { lastSent = null; });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(send, delay);
    });
    input.addEventListener("change", send);
  }

  function start() {
    document.querySelectorAll("input[data-abandon-email]").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
