// selpo office workstation: a little plain JavaScript, none of it required to work.
// Keys: Esc clears the field, or goes back (to the start screen); 1-5 pick a section when no
// text field has the focus; F-keys press the control marked data-hotkey (F2 "damaged", F9
// "close the acceptance"); typing with nothing focused goes to the scan field (a scanner keeps
// working after a stray click); forms are sent once.
(function () {
  "use strict";
  var body = document.body;
  var home = body.getAttribute("data-home");
  var scanField = document.querySelector("[data-scan]");

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }

  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    if (event.key === "Escape") {
      if (typing(active) && active.value) { active.value = ""; event.preventDefault(); return; }
      var back = body.getAttribute("data-back") || home;
      if (back && !body.classList.contains("home")) { window.location.href = back; }
      return;
    }
    var hotkey = /^F\d+$/.test(event.key) && document.querySelector("[data-hotkey='" + event.key + "']");
    if (hotkey) { hotkey.click(); event.preventDefault(); return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var idle = !active || active === body;
    if (scanField && idle && event.key.length === 1) {
      scanField.focus();  // the scanner's digits go into the field, never into navigation
      return;
    }
    if (!typing(active) && /^[1-9]$/.test(event.key)) {
      var link = document.querySelector("nav.menu a[data-key='" + event.key + "']");
      if (link) { window.location.href = link.href; event.preventDefault(); }
    }
  });

  // Send each form once: a second Enter from an impatient scanner does nothing.
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function (event) {
      var confirmer = event.submitter && event.submitter.getAttribute("data-confirm");
      if (confirmer && !window.confirm(confirmer)) { event.preventDefault(); return; }
      if (form.hasAttribute("data-once")) {
        if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
        form.setAttribute("data-sent", "1");
      }
    });
  });

  // Print buttons.
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // Change for cash on delivery, as the clerk types the amount received.
  var due = document.getElementById("due");
  var received = document.getElementById("received");
  var change = document.getElementById("change");
  if (due && received && change && received.tagName === "INPUT") {
    var dueKop = parseInt(due.getAttribute("data-due"), 10) || 0;
    var show = function () {
      var text = received.value.replace(/\s/g, "").replace(",", ".");
      if (!text) { change.textContent = "без сдачи"; return; }
      var kop = Math.round(parseFloat(text) * 100);
      if (isNaN(kop)) { change.textContent = "—"; return; }
      if (kop < dueKop) { change.textContent = "не хватает " + ((dueKop - kop) / 100).toFixed(2).replace(".", ",") + " ₽"; return; }
      change.textContent = ((kop - dueKop) / 100).toFixed(2).replace(".", ",") + " ₽";
    };
    received.addEventListener("input", show);
    show();
  }
}());
