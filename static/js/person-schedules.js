/* Helpers for issue 16's parts of the person page, progressively enhanced: without
   JavaScript every field is there and saving does the same work in two steps.
   - Business hours: "Copy Monday to Tuesday-Friday" fills the other weekdays.
   - Simultaneous ring: a "press a key" box appears as soon as a number is typed (without
     the script it appears once the number is saved).
   - Rules per caller: a schedule named in the Schedules card can be chosen at once
     (without the script, once it is saved). */
(function () {
  "use strict";

  var WEEKDAYS = ["tuesday", "wednesday", "thursday", "friday"];

  /* --- same hours for every weekday ----------------------------------------------------- */
  document.querySelectorAll("[data-week-hours]").forEach(function (week) {
    var monday = week.querySelector("[data-day=monday]");
    if (!monday) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy-weekdays";
    button.textContent = "Copy Monday to Tuesday–Friday";
    var status = document.createElement("span");
    status.className = "help";
    status.setAttribute("role", "status");
    button.addEventListener("click", function () {
      var source = monday.querySelectorAll("input");
      WEEKDAYS.forEach(function (day) {
        var target = week.querySelector("[data-day=" + day + "]");
        if (!target) {
          return;
        }
        var inputs = target.querySelectorAll("input");
        source.forEach(function (input, i) {
          if (inputs[i]) {
            inputs[i].value = input.value;
          }
        });
        target.querySelectorAll("details").forEach(function (details, i) {
          var from = monday.querySelectorAll("details")[i];
          if (from && from.querySelector("input").value) {
            details.open = true;
          }
        });
      });
      status.textContent = "Tuesday to Friday now have Monday's hours.";
    });
    var bar = document.createElement("p");
    bar.className = "copy-bar";
    bar.appendChild(button);
    bar.appendChild(document.createTextNode(" "));
    bar.appendChild(status);
    week.parentNode.insertBefore(bar, week);
  });

  /* --- a "press a key" box per typed number ---------------------------------------------- */
  var targets = document.getElementById("id_simring_targets");
  var list = document.querySelector("[data-confirm-list]");
  if (targets && list) {
    var name = list.getAttribute("data-name");
    var rebuild = function () {
      var ticked = {};
      var labels = {};
      list.querySelectorAll("input").forEach(function (box) {
        ticked[box.value] = box.checked;
        labels[box.value] = box.parentNode.querySelector("label").textContent;
      });
      var lines = targets.value.split(/\r?\n/).map(function (line) {
        return line.trim();
      }).filter(function (line, i, all) {
        return line && all.indexOf(line) === i;
      });
      list.textContent = "";
      lines.forEach(function (line, i) {
        // A saved number keeps its stored value; a new one is sent as typed and the
        // server matches it with its line.
        var value = line;
        Object.keys(labels).forEach(function (known) {
          if (labels[known] === line || known === line ||
              known.replace(/[^+\d]/g, "") === line.replace(/[^+\d]/g, "")) {
            value = known;
          }
        });
        var item = document.createElement("li");
        item.className = "field checkbox";
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = name;
        box.value = value;
        box.id = "id_" + name + "_" + i;
        box.checked = Boolean(ticked[value]);
        var label = document.createElement("label");
        label.htmlFor = box.id;
        label.textContent = labels[value] || line;
        item.appendChild(box);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(label);
        list.appendChild(item);
      });
      var empty = list.parentNode.querySelector("[data-confirm-empty]");
      if (empty) {
        empty.hidden = lines.length > 0;
      }
    };
    targets.addEventListener("input", rebuild);
  }

  /* --- "All callers" makes the list of callers moot ---------------------------------------- */
  document.querySelectorAll("input[name^=caller_rules-][name$=-match_all]").forEach(function (box) {
    var rule = box.closest("fieldset.rule");
    if (!rule) {
      return;
    }
    var moot = ["callers", "match_anonymous"].map(function (name) {
      var input = rule.querySelector("[name$=-" + name + "]");
      return input ? input.closest(".field") : null;
    }).filter(Boolean);
    var apply = function () {
      moot.forEach(function (field) {
        // A field with an error stays in sight: its message says what to do.
        field.classList.toggle("is-moot", box.checked && !field.classList.contains("has-error"));
      });
    };
    box.addEventListener("change", apply);
    apply();
  });

  /* --- schedules to choose in the rules per caller --------------------------------------- */
  var card = document.querySelector("[data-schedules]");
  var selects = document.querySelectorAll("select[name^=caller_rules-][name$=-schedule]");
  if (card && selects.length) {
    var names = function () {
      var result = [];
      card.querySelectorAll("fieldset.schedule").forEach(function (schedule) {
        var input = schedule.querySelector("input[name$=-name]");
        var removed = schedule.querySelector("input[name$=-remove]");
        var value = input ? input.value.trim().replace(/\s+/g, " ") : "";
        if (value && !(removed && removed.checked) && result.indexOf(value) < 0) {
          result.push(value);
        }
      });
      return result;
    };
    var refresh = function () {
      var current = names();
      selects.forEach(function (select) {
        var chosen = select.value;
        while (select.options.length > 1) {
          select.remove(1);
        }
        current.forEach(function (scheduleName) {
          ["during", "outside"].forEach(function (when) {
            var option = document.createElement("option");
            option.value = when + ":" + scheduleName;
            option.textContent = "Only " + when + " " + scheduleName;
            select.appendChild(option);
          });
        });
        if (chosen && !Array.prototype.some.call(select.options, function (o) {
          return o.value === chosen;
        })) {
          // Keep a choice whose schedule was renamed or removed: the server says why.
          var kept = document.createElement("option");
          kept.value = chosen;
          kept.textContent = chosen.replace(":", " ").replace(/^during/, "Only during")
            .replace(/^outside/, "Only outside");
          select.appendChild(kept);
        }
        select.value = chosen;
      });
    };
    card.addEventListener("change", refresh);
    card.addEventListener("input", refresh);
  }
})();
