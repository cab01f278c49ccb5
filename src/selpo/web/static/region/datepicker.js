// selpo staff pages: a small date picker of our own (no CDN, no browser locale needed).
// Every <input data-picker> holds a day as ДД.ММ.ГГГГ (typed by hand it works without this
// script too: the server reads ДД.ММ.ГГГГ and ГГГГ-ММ-ДД). The script adds a button that opens
// a month grid starting on Monday (Пн … Вс); a click, or Enter on a focused day, writes the
// day; arrows move by a day or a week, PageUp/PageDown by a month, Escape closes.
(function () {
  "use strict";
  var MONTHS = ["январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август",
    "сентябрь", "октябрь", "ноябрь", "декабрь"];
  var WEEKDAYS = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(d) { return pad(d.getDate()) + "." + pad(d.getMonth() + 1) + "." + d.getFullYear(); }
  function parse(text) {
    var m = /^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$/.exec(text || "");
    if (!m) { return null; }
    var d = new Date(Number(m[3]), Number(m[2]) - 1, Number(m[1]));
    return d.getDate() === Number(m[1]) ? d : null;
  }
  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) { n.className = cls; }
    if (text !== undefined) { n.textContent = text; }
    return n;
  }

  function attach(input) {
    var open = null;
    var button = node("button", "picker-open", "▦");
    button.type = "button";
    button.setAttribute("aria-label", "Выбрать дату в календаре");
    button.setAttribute("aria-haspopup", "dialog");
    input.insertAdjacentElement("afterend", button);

    function close(focusInput) {
      if (open) { open.remove(); open = null; }
      button.setAttribute("aria-expanded", "false");
      if (focusInput) { input.focus(); }
    }

    function show(month, focusDay) {
      if (open) { open.remove(); }
      var chosen = parse(input.value);
      var box = node("div", "picker");
      box.setAttribute("role", "dialog");
      box.setAttribute("aria-label", "Календарь");
      var head = node("div", "picker-head");
      var prev = node("button", "picker-prev", "‹");
      prev.type = "button";
      prev.setAttribute("aria-label", "Предыдущий месяц");
      var next = node("button", "picker-next", "›");
      next.type = "button";
      next.setAttribute("aria-label", "Следующий месяц");
      var title = node("span", "picker-title", MONTHS[month.getMonth()] + " " + month.getFullYear());
      head.appendChild(prev); head.appendChild(title); head.appendChild(next);
      box.appendChild(head);
      var grid = node("table", "picker-grid");
      var tr = node("tr");
      WEEKDAYS.forEach(function (w) { tr.appendChild(node("th", null, w)); });
      var thead = node("thead"); thead.appendChild(tr); grid.appendChild(thead);
      var body = node("tbody");
      var first = new Date(month.getFullYear(), month.getMonth(), 1);
      var shift = (first.getDay() + 6) % 7; // Monday first
      var day = new Date(first.getFullYear(), first.getMonth(), 1 - shift);
      var focusButton = null;
      for (var week = 0; week < 6; week++) {
        var row = node("tr");
        for (var i = 0; i < 7; i++) {
          var cell = node("td");
          var b = node("button", "picker-day", String(day.getDate()));
          b.type = "button";
          b.dataset.day = format(day);
          if (day.getMonth() !== month.getMonth()) { b.classList.add("other"); }
          if (chosen && format(chosen) === b.dataset.day) { b.classList.add("chosen"); b.setAttribute("aria-pressed", "true"); }
          b.tabIndex = -1;
          if ((focusDay && format(focusDay) === b.dataset.day) ||
              (!focusDay && chosen && format(chosen) === b.dataset.day)) { focusButton = b; }
          cell.appendChild(b);
          row.appendChild(cell);
          day = new Date(day.getFullYear(), day.getMonth(), day.getDate() + 1);
        }
        body.appendChild(row);
      }
      grid.appendChild(body);
      box.appendChild(grid);
      prev.addEventListener("click", function () { show(new Date(month.getFullYear(), month.getMonth() - 1, 1)); });
      next.addEventListener("click", function () { show(new Date(month.getFullYear(), month.getMonth() + 1, 1)); });
      box.addEventListener("click", function (event) {
        var target = event.target;
        if (target && target.classList && target.classList.contains("picker-day")) {
          input.value = target.dataset.day;
          input.dispatchEvent(new Event("change", { bubbles: true }));
          close(true);
        }
      });
      box.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { event.preventDefault(); close(true); return; }
        var current = document.activeElement && document.activeElement.dataset ? parse(document.activeElement.dataset.day) : null;
        if (!current) { return; }
        var steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
        var target = null;
        if (event.key in steps) {
          target = new Date(current.getFullYear(), current.getMonth(), current.getDate() + steps[event.key]);
        } else if (event.key === "PageUp" || event.key === "PageDown") {
          target = new Date(current.getFullYear(), current.getMonth() + (event.key === "PageUp" ? -1 : 1), current.getDate());
        }
        if (target) {
          event.preventDefault();
          show(new Date(target.getFullYear(), target.getMonth(), 1), target);
        }
      });
      input.parentNode.insertBefore(box, button.nextSibling);
      open = box;
      button.setAttribute("aria-expanded", "true");
      (focusButton || box.querySelector(".picker-day:not(.other)")).focus();
    }

    button.addEventListener("click", function () {
      if (open) { close(true); return; }
      var d = parse(input.value) || new Date();
      show(new Date(d.getFullYear(), d.getMonth(), 1));
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && event.altKey) { event.preventDefault(); button.click(); }
    });
    document.addEventListener("click", function (event) {
      // A click that redrew the month has a target no longer in the page: not outside.
      if (open && document.contains(event.target) && !open.contains(event.target) &&
          event.target !== button) { close(false); }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-picker]"), attach);
}());
