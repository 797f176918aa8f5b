/* A person's forwarding page, progressively enhanced. Without JavaScript every field is
   shown, the Delivery badge is as of the page load and "Compare" reloads the page.
   With it:
   - each card's switch hides the card's other fields while it is off;
   - the Delivery line refreshes itself from sync/state.json (same origin) while the
     badge shows a state that moves by itself (Pending, Pushing, Retrying, Waiting);
   - "Compare with <provider> now" is sent in the background and its result
     ("Checked at 10:42 CET: matches Webex Calling") replaces the line when it arrives. */
(function () {
  "use strict";

  /* --- switches ---------------------------------------------------------------------- */
  function bindSwitch(input) {
    var card = input.closest("[data-feature-card]");
    var body = document.getElementById(input.getAttribute("aria-controls"));
    if (!card || !body) {
      return;
    }
    function apply() {
      var on = input.checked;
      card.classList.toggle("is-off", !on);
      // A field with an error stays in sight whatever the switch says.
      body.hidden = !on && !body.querySelector(".has-error");
      var note = body.querySelector("[data-off-note]");
      if (note) {
        note.hidden = on;
      }
    }
    input.addEventListener("change", apply);
    apply();
  }
  document.querySelectorAll("input[data-switch]").forEach(bindSwitch);

  /* --- the Delivery line --------------------------------------------------------------- */
  var line = document.getElementById("delivery");
  if (!line || !window.fetch) {
    return;
  }
  var url = line.getAttribute("data-state-url");
  var provider = line.getAttribute("data-provider");
  var INTERVAL = 2000;
  var CHECK_PATIENCE = 30000;
  var timer = null;
  var awaiting = null; // {since: checked_at before the request, until: deadline}

  function say(text) {
    var slot = line.querySelector("[data-compare]");
    if (slot) {
      slot.textContent = text;
      slot.hidden = !text;
    }
  }

  function show(data) {
    line.innerHTML = data.html;
    line.setAttribute("data-settled", data.settled ? "true" : "false");
    line.setAttribute("data-checked-at", data.checked_at || "");
  }

  function schedule(delay) {
    window.clearTimeout(timer);
    timer = window.setTimeout(poll, delay);
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (awaiting) {
          if (data.checked_at && data.checked_at !== awaiting.since) {
            awaiting = null; // the answer is in data.compare, shown by show()
          } else if (Date.now() > awaiting.until) {
            awaiting = null;
            say(provider + " has not answered yet. Try again in a minute.");
          } else {
            say("Comparing with " + provider + "…");
          }
        }
        if (awaiting || data.status === "pending" || data.status === "pushing") {
          schedule(INTERVAL);
        } else if (!data.settled) {
          // Retrying or waiting for the connection: minutes rather than seconds away.
          schedule(INTERVAL * 5);
        }
      })
      .catch(function () {
        schedule(INTERVAL * 5);
      });
  }

  // "Compare with <provider> now": posted in the background, the answer awaited here.
  line.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("form[data-compare-form]")) {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) {
      button.disabled = true;
    }
    awaiting = {since: line.getAttribute("data-checked-at") || null,
                until: Date.now() + CHECK_PATIENCE};
    say("Comparing with " + provider + "…");
    fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        schedule(INTERVAL);
      })
      .catch(function () {
        awaiting = null;
        if (button) {
          button.disabled = false;
        }
        say("The comparison could not be started. Try again in a minute.");
      });
  });

  if (line.getAttribute("data-settled") !== "true") {
    schedule(INTERVAL);
  }
})();
