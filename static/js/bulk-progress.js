/* Live progress of a bulk job: polls the job's progress.json (same origin) and updates the
   state badge, the counters, the two progress bars, the outcome of the rows on the page
   and whether "Undo" is offered. Without
   JavaScript the page still works: its "Refresh" link reloads it. */
(function () {
  "use strict";
  var root = document.getElementById("job-progress");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-progress-url");
  var INTERVAL = 1000;

  function setText(scope, name, value) {
    var node = scope.querySelector('[data-field="' + name + '"]');
    if (node && node.textContent !== String(value)) {
      node.textContent = String(value);
    }
  }

  function setBar(id, value, max) {
    var bar = document.getElementById(id);
    if (!bar) {
      return;
    }
    bar.max = Math.max(max, 1);
    bar.value = value;
    bar.textContent = value + " of " + max;
  }

  function updateRow(row) {
    var tr = document.querySelector('tr[data-row="' + row.id + '"]');
    if (!tr) {
      return;
    }
    var badge = tr.querySelector('[data-field="outcome"]');
    if (badge) {
      badge.className = "badge " + row.css;
      badge.textContent = row.label;
    }
    var list = tr.querySelector('[data-field="messages"]');
    if (list) {
      while (list.firstChild) {
        list.removeChild(list.firstChild);
      }
      row.messages.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
    }
  }

  function update(data) {
    var p = data.progress;
    var badge = root.querySelector('[data-field="state"]');
    if (badge && data.state) {
      badge.className = "badge " + data.state.css;
      badge.textContent = data.state.label;
    }
    // Undo is offered as soon as the job has finished, without a reload.
    document.querySelectorAll("[data-when-undoable]").forEach(function (node) {
      node.hidden = !data.can_undo;
    });
    ["applied", "pushed", "failed", "push_failed", "pending", "total"].forEach(function (name) {
      setText(root, name, p[name]);
    });
    setBar("bar-processed", p.processed, p.total);
    setBar("bar-pushed", p.pushed, p.applied);
    data.rows.forEach(updateRow);
    if (p.pending === 0) {
      document.querySelectorAll("[data-when-pending]").forEach(function (node) {
        node.hidden = true;
      });
    }
    root.setAttribute("data-settled", p.settled ? "true" : "false");
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
        update(data);
        if (!data.progress.settled) {
          window.setTimeout(poll, INTERVAL);
        }
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL * 5);
      });
  }

  if (root.getAttribute("data-settled") !== "true") {
    window.setTimeout(poll, INTERVAL);
  }
})();
