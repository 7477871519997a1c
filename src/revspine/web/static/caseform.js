/* revspine case form and case page: small progressive enhancements, no framework.
 * Without this script every button still works (the server re-renders the page).
 * No clinical logic here: scores and assessments come from the server. */
"use strict";
(function () {
  function byAttr(root, selector, name, value) {
    return Array.prototype.find.call(root.querySelectorAll(selector), function (el) {
      return el.getAttribute(name) === value;
    });
  }

  /* Case page: expand or collapse every reason and evidence block of the report. */
  document.querySelectorAll("[data-expand]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-expand") === "all";
      document.querySelectorAll(".embedded-report details").forEach(function (d) { d.open = open; });
    });
  });

  var form = document.getElementById("case-form");
  if (!form) { return; }
  var labUnits = {};
  try { labUnits = JSON.parse(form.getAttribute("data-lab-units") || "{}"); } catch (e) { labUnits = {}; }

  function post(extra) {
    var data = new URLSearchParams(new FormData(form));
    Object.keys(extra).forEach(function (k) { data.set(k, extra[k]); });
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Fragment": "1" }
    });
  }

  function wire(root) {
    root.querySelectorAll("[data-remove], [data-copy-phq9]").forEach(function (b) { b.hidden = false; });
  }

  function addRow(list) {
    var box = byAttr(form, ".rows", "data-list", list);
    var template = byAttr(form, "template", "data-row-for", list);
    if (!box || !template) { return; }
    var next = parseInt(box.getAttribute("data-next"), 10) || 0;
    box.setAttribute("data-next", String(next + 1));
    var html = template.innerHTML.split(template.getAttribute("data-placeholder")).join(String(next));
    box.insertAdjacentHTML("beforeend", html);
    var row = box.lastElementChild;
    var title = row.querySelector(".row-head strong");
    if (title) { title.textContent = title.textContent.replace(/^New (.)/, function (_, c) { return c.toUpperCase(); }) + " " + (next + 1); }
    wire(row);
    var state = byAttr(form, "select", "name", list + "#state");
    if (state && state.value === "") { state.value = "listed"; }
    var first = row.querySelector("input:not([type=hidden]), select");
    if (first) { first.focus(); }
  }

  function fetchScores() {
    return post({ _scores: "1" }).then(function (r) { return r.ok ? r.json() : null; });
  }

  var scoreTimer = null;
  function refreshScores() {
    clearTimeout(scoreTimer);
    scoreTimer = setTimeout(function () {
      fetchScores().then(function (scores) {
        if (!scores) { return; }
        form.querySelectorAll("output[data-score]").forEach(function (out) {
          var key = out.getAttribute("data-score");
          var cut = key.lastIndexOf(".");
          var row = scores[key.slice(0, cut)] || {};
          out.textContent = row[key.slice(cut + 1)] || "";
        });
      });
    }, 150);
  }

  /* The assessment reads the PHQ-9 under Psychosocial: copy it there when the clinician asks. */
  function copyPhq9(row) {
    fetchScores().then(function (scores) {
      var result = (scores || {})[row] || {};
      [["phq9_total", "f-psychosocial-phq9_total"], ["phq9_item9", "f-psychosocial-phq9_item9"]].forEach(function (pair) {
        var input = document.getElementById(pair[1]);
        if (input && result[pair[0]] !== undefined) {
          input.value = result[pair[0]];
          input.classList.add("copied");
        }
      });
    });
  }

  function setUnits(testSelect) {
    var unit = byAttr(form, "select", "data-unit-of", testSelect.id);
    if (!unit) { return; }
    var units = labUnits[testSelect.value] || [];
    unit.textContent = "";
    var empty = document.createElement("option");
    empty.value = ""; empty.textContent = "unit…";
    unit.appendChild(empty);
    units.forEach(function (pair) {
      var o = document.createElement("option");
      o.value = pair[0]; o.textContent = pair[1];
      unit.appendChild(o);
    });
    if (units.length) { unit.value = units[0][0]; }
  }

  function clearMarks() {
    form.querySelectorAll(".js-err").forEach(function (n) { n.remove(); });
    form.querySelectorAll(".js-invalid").forEach(function (n) { n.classList.remove("invalid", "js-invalid"); });
  }

  function markProblems(panel) {
    panel.querySelectorAll("li[data-control]").forEach(function (li) {
      var control = document.getElementById(li.getAttribute("data-control"));
      if (!control) { return; }
      var holder = control.closest(".fld, fieldset, .answer") || control;
      holder.classList.add("invalid", "js-invalid");
      var note = document.createElement("span");
      note.className = "ferr js-err";
      note.textContent = li.getAttribute("data-message");
      holder.appendChild(note);
    });
  }

  function preview() {
    var panel = document.getElementById("preview");
    panel.classList.add("busy");
    post({ _preview: "1" }).then(function (r) { return r.text(); }).then(function (html) {
      clearMarks();
      panel.innerHTML = html;
      markProblems(panel);
    }).finally(function () { panel.classList.remove("busy"); });
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    var add = target.closest("[data-add]");
    if (add && form.contains(add)) {
      event.preventDefault();
      addRow(add.getAttribute("data-add"));
      return;
    }
    var remove = target.closest("[data-remove]");
    if (remove && form.contains(remove)) {
      event.preventDefault();
      var row = remove.closest(".row-card");
      if (row) { row.remove(); refreshScores(); }
      return;
    }
    var copy = target.closest("[data-copy-phq9]");
    if (copy && form.contains(copy)) {
      event.preventDefault();
      copyPhq9(copy.getAttribute("data-copy-phq9"));
      return;
    }
    var previewButton = target.closest("[data-preview], .default-button");
    if (previewButton && previewButton.form === form) {
      event.preventDefault();
      preview();
    }
  });

  form.addEventListener("change", function (event) {
    var el = event.target;
    if (!(el instanceof HTMLSelectElement)) { return; }
    if (el.hasAttribute("data-scored")) { refreshScores(); }
    if (/^labs\[\d+\]\.test$/.test(el.name)) { setUnits(el); }
  });

  wire(form);
})();
