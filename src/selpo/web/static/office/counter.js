// selpo counter: the scan queue, for a village line (plain JS, no framework, nothing required:
// without it the scan forms post as they always did).
//
// On the acceptance, shelving and returns screens each scan (the scanner types the code and
// Enter) becomes its own submission: the field clears at once, the scan joins a queue and a
// list shows it with its result. One request at a time, in the order scanned, so a code
// never runs into the next and a slow line only makes the list lag. Acceptance and shelving
// scans are first written to IndexedDB with a scan id and the moment scanned: when the line
// is down (the browser is offline, or the server does not answer within TIMEOUT_MS) they
// wait there, "ожидает отправки", and go out in order when it returns, with their own
// times; the server records an id once however often it arrives. A service worker
// (/office/sw.js) keeps the counter's pages and static files for a reload without the line.
(function () {
  "use strict";
  var body = document.body;
  if (!body.hasAttribute("data-home")) { return; }  // the workstation's pages only

  var DB_NAME = "selpo-counter";
  var STORE = "scans";
  var PAGES_CACHE = "selpo-counter-pages";
  var TIMEOUT_MS = 10000;
  var RETRY_MS = 15000;
  var KEEP_DONE = 60;  // finished scans kept for the list, per screen
  var csrfField = document.querySelector("input[name=csrf]");
  var csrf = csrfField ? csrfField.value : "";
  var lineNote = document.getElementById("line");

  // ------------------------------------------------------------------ the clock
  // Scan times in the server's time: the page says when it was made (data-now), every answer
  // says the server's now; a page served again from the cache keeps the offset learned before.
  var offset = parseFloat(localStorage.getItem("selpo-clock-offset") || "0") || 0;
  var pageNow = body.getAttribute("data-now");
  if (pageNow && pageNow !== localStorage.getItem("selpo-page-now")) {
    offset = Date.parse(pageNow) - Date.now();
    localStorage.setItem("selpo-page-now", pageNow);
    localStorage.setItem("selpo-clock-offset", String(offset));
  }
  function learnClock(serverNow) {
    var parsed = Date.parse(serverNow);
    if (!isNaN(parsed)) {
      offset = parsed - Date.now();
      localStorage.setItem("selpo-clock-offset", String(offset));
    }
  }
  function serverTime() { return new Date(Date.now() + offset).toISOString(); }

  function newScanId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ------------------------------------------------------------------ IndexedDB
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }
  function store(mode, work) {
    return db().then(function (database) {
      return new Promise(function (resolve, reject) {
        var tx = database.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function save(item) {
    if (!item.persist) { return Promise.resolve(item); }
    var record = {};
    Object.keys(item).forEach(function (key) { if (key !== "row") { record[key] = item[key]; } });
    return store("readwrite", function (s) { return s.put(record); }).then(function (seq) {
      item.seq = seq;
      return item;
    }, function () { return item; });
  }
  function loadAll() {
    return store("readonly", function (s) { return s.getAll(); }).catch(function () { return []; });
  }
  function forget(seqs) {
    if (!seqs.length) { return Promise.resolve(); }
    return store("readwrite", function (s) { seqs.forEach(function (seq) { s.delete(seq); }); });
  }

  // ------------------------------------------------------------------ the list
  var form = document.querySelector("form[data-queue]");
  var list = document.getElementById("queue");
  var lane = form ? form.getAttribute("data-queue") + ":" + form.getAttribute("data-endpoint") : "";
  var items = [];
  var sending = false;
  var stalled = false;  // the line is down (or the session lapsed): wait, then try again
  var STATES = {
    queued: "отправляется…",
    sending: "отправляется…",
    waiting: "ожидает отправки"
  };

  function time(iso) {
    var moment = new Date(Date.parse(iso));  // the server's time, as the page header shows
    return ("0" + moment.getHours()).slice(-2) + ":" + ("0" + moment.getMinutes()).slice(-2) + ":" + ("0" + moment.getSeconds()).slice(-2);
  }

  function draw(item) {
    if (!list || item.lane !== lane) { return; }
    if (!item.row) {
      item.row = document.createElement("li");
      list.insertBefore(item.row, list.firstChild);
    }
    var row = item.row;
    var done = item.state === "done" || item.state === "refused";
    row.className = "queued " + item.state + (done ? " " + (item.tone || "error") : "");
    row.setAttribute("data-scan-id", item.id);
    row.setAttribute("data-state", item.state);
    row.textContent = "";
    var when = document.createElement("span");
    when.className = "time";
    when.textContent = time(item.scanned_at);
    var code = document.createElement("span");
    code.className = "mono";
    code.textContent = item.label;
    var what = document.createElement("span");
    what.className = "what";
    what.textContent = done ? item.message : STATES[item.state];
    row.appendChild(when);
    row.appendChild(code);
    row.appendChild(what);
  }

  function banner(tone, message) {
    var flash = document.getElementById("flash");
    if (!flash) {
      flash = document.createElement("div");
      flash.id = "flash";
      flash.setAttribute("role", "status");
      document.querySelector("main").parentNode.insertBefore(flash, document.querySelector("main"));
    }
    flash.className = "banner " + tone;
    flash.textContent = message;
  }

  function showLine() {
    if (!lineNote) { return; }
    var waiting = items.filter(function (i) { return i.state === "waiting"; }).length;
    var down = !navigator.onLine || stalled;
    lineNote.hidden = !down && !waiting;
    var text = lineNote.getAttribute(down ? "data-down" : "data-back") || "";
    lineNote.textContent = text + (waiting ? " Ожидают отправки: " + waiting + "." : "");
  }

  // What a recorded scan changes on the page it was made on (no reload).
  function apply(item, answer) {
    if (answer.counts) {
      Object.keys(answer.counts).forEach(function (key) {
        var counter = document.getElementById(key + "-count");
        if (counter) { counter.textContent = answer.counts[key]; }
      });
    }
    if (answer.cell) {
      var cell = document.querySelector("#cellmap [data-cell='" + answer.cell + "']");
      if (cell) {
        cell.className = "cell " + (item.kind === "returns" ? "free" : "ready");
        cell.setAttribute("data-state", item.kind === "returns" ? "free" : "ready");
      }
    }
    if (answer.tracking_number && item.kind === "shelving") {
      var pending = document.querySelector("#pending tr[data-parcel='" + answer.tracking_number + "']");
      if (pending) { pending.parentNode.removeChild(pending); }
    }
  }

  function finish(item, state, tone, message) {
    item.state = state;
    item.tone = tone;
    item.message = message;
    draw(item);
    banner(tone, message);
    return save(item);
  }

  // ------------------------------------------------------------------ sending, in order
  function post(item) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) { controller.abort(); } }, TIMEOUT_MS);
    var payload = { barcode: item.barcode, damaged: !!item.damaged, cell: item.cell || "", scan_id: item.id };
    if (item.persist) { payload.scanned_at = item.scanned_at; }
    return fetch(item.endpoint, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      clearTimeout(timer);
      return response.text().then(function (text) {
        var answer = {};
        try { answer = JSON.parse(text); } catch (ignored) { answer = {}; }
        return { status: response.status, answer: answer };
      });
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function next() {
    if (sending || stalled) { return; }
    var item = null;
    for (var i = 0; i < items.length; i += 1) {
      if (items[i].state === "queued" || items[i].state === "waiting") { item = items[i]; break; }
    }
    if (!item) { showLine(); return; }
    if (!navigator.onLine) { wait(item); return; }
    sending = true;
    item.state = "sending";
    draw(item);
    post(item).then(function (reply) {
      sending = false;
      var status = reply.status;
      var answer = reply.answer;
      if (status >= 200 && status < 300) {
        if (answer.server_now) { learnClock(answer.server_now); }
        apply(item, answer);
        return finish(item, "done", answer.tone || "ok", answer.message || "Записано.").then(next);
      }
      if (status === 401 || status === 403 || status === 0 || status === 502 || status === 503 || status === 504) {
        // The session lapsed, or a proxy has no line to the server: keep the scan.
        var why = status === 401 || status === 403
          ? "Сеанс истёк или страница устарела: войдите снова — сканы сохранены и будут отправлены."
          : "Сервер недоступен: сканы сохранены и будут отправлены.";
        wait(item, why);
        return null;
      }
      return finish(item, "refused", "error", answer.detail || ("Ошибка сервера (" + status + ").")).then(next);
    }, function () {
      sending = false;
      wait(item);
    });
  }

  function wait(item, why) {
    stalled = true;
    markWaiting();
    if (why) { banner("warn", why); }
    showLine();
    setTimeout(function () { stalled = false; next(); }, RETRY_MS);
  }

  function markWaiting() {
    items.forEach(function (item) {
      if (item.state === "queued" || item.state === "sending") {
        if (item.persist) {
          item.state = "waiting";
        } else {
          item.state = "refused";
          item.tone = "error";
          item.message = "Нет связи: скан не отправлен — отсканируйте, когда связь вернётся.";
        }
        draw(item);
        save(item);
      }
    });
  }

  window.addEventListener("online", function () { stalled = false; showLine(); next(); });
  window.addEventListener("offline", function () { stalled = true; markWaiting(); showLine(); });

  function enqueue(fields) {
    var item = {
      id: newScanId(),
      lane: lane,
      kind: form.getAttribute("data-queue"),
      endpoint: form.getAttribute("data-endpoint"),
      persist: form.hasAttribute("data-offline"),
      scanned_at: serverTime(),
      state: navigator.onLine && !stalled ? "queued" : "waiting",
      barcode: fields.barcode,
      cell: fields.cell || "",
      damaged: !!fields.damaged,
      label: fields.label
    };
    if (!item.persist && item.state === "waiting") {
      item.state = "refused";
      item.tone = "error";
      item.message = "Нет связи: " + (form.getAttribute("data-offline-refusal") || "скан не отправлен.");
    }
    items.push(item);
    draw(item);
    showLine();
    return save(item).then(function () { return loaded; }).then(next);
  }

  // ------------------------------------------------------------------ the screens
  var field = form ? form.querySelector("[data-scan]") : null;
  var damaged = form ? form.querySelector("input[name=damaged]") : null;
  var prompt = document.getElementById("next-cell");
  var awaiting = null;  // shelving: the parcel scanned, waiting for its cell

  function isParcel(code) { return /^[0-9]{14}$/.test(code.replace(/[\s-]/g, "")); }

  // The cell the page proposes (as the server does: the lowest-numbered free cell of the
  // parcel's class, else of a larger one, none already promised to a scan in the queue).
  function proposeCell(tracking) {
    var row = document.querySelector("#pending tr[data-parcel='" + tracking + "']");
    var size = row ? row.getAttribute("data-size") : "";
    if (!size) { return ""; }
    var promised = {};
    items.forEach(function (i) { if (i.kind === "shelving" && i.state !== "refused" && i.cell) { promised[i.cell] = true; } });
    var classes = ["S", "M", "L"].slice(["S", "M", "L"].indexOf(size));
    for (var c = 0; c < classes.length; c += 1) {
      var cells = document.querySelectorAll("#cellmap [data-cell][data-class='" + classes[c] + "'][data-state='free']");
      for (var k = 0; k < cells.length; k += 1) {
        var code = cells[k].getAttribute("data-cell");
        if (!promised[code]) { return code; }
      }
    }
    return "";
  }

  function showAwaiting() {
    if (!prompt) { return; }
    prompt.textContent = "";
    if (!awaiting) { prompt.hidden = true; return; }
    prompt.hidden = false;
    prompt.appendChild(document.createTextNode("Посылка …" + awaiting.tracking.slice(-4) + ": "));
    if (awaiting.cell) {
      prompt.appendChild(document.createTextNode("положите в ячейку "));
      var strong = document.createElement("strong");
      strong.id = "proposed";
      strong.textContent = awaiting.cell;
      prompt.appendChild(strong);
      prompt.appendChild(document.createTextNode(" и нажмите Enter (или отсканируйте другую ячейку)."));
    } else if (navigator.onLine && !stalled) {
      prompt.appendChild(document.createTextNode("отсканируйте ячейку или нажмите Enter — ячейку предложит сервер."));
    } else {
      prompt.appendChild(document.createTextNode("нет связи — отсканируйте этикетку ячейки, куда положили посылку."));
    }
  }

  function scanned(raw) {
    var code = raw.trim();
    var kind = form.getAttribute("data-queue");
    if (kind !== "shelving") {
      if (!code) { return; }
      enqueue({ barcode: code, damaged: damaged && damaged.checked, label: code.slice(0, 30) });
      if (damaged) { damaged.checked = false; }
      return;
    }
    if (isParcel(code)) {
      var tracking = code.replace(/[\s-]/g, "");
      if (awaiting) {
        banner("warn", "Посылка …" + awaiting.tracking.slice(-4) + " не разложена: не отсканирована ячейка.");
      }
      awaiting = { tracking: tracking, cell: proposeCell(tracking) };
      showAwaiting();
      return;
    }
    if (!awaiting) {
      if (code) { banner("error", "Сначала отсканируйте посылку, потом ячейку."); }
      return;
    }
    var cell = code || awaiting.cell;
    if (!cell && !(navigator.onLine && !stalled)) {
      banner("error", "Нет связи: отсканируйте этикетку ячейки.");
      return;
    }
    enqueue({ barcode: awaiting.tracking, cell: cell, label: "…" + awaiting.tracking.slice(-4) + " → " + (cell || "?") });
    awaiting = null;
    showAwaiting();
  }

  if (form && field && window.fetch && window.JSON) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = field.value;
      field.value = "";  // at once: the next code never runs into this one
      field.focus();
      scanned(value);
    }, true);
  }

  // The screens that need the server (the issue: the code is checked there) say so.
  var needsLine = body.hasAttribute("data-needs-line");
  if (needsLine) {
    Array.prototype.forEach.call(document.querySelectorAll("main form"), function (f) {
      f.addEventListener("submit", function (event) {
        if (!navigator.onLine) { event.preventDefault(); event.stopImmediatePropagation(); showLine(); }
      }, true);
    });
  }

  // Earlier scans: those still to send (from any screen), and this screen's latest results.
  var loaded = loadAll().then(function (records) {
    var known = {};
    items.forEach(function (item) { known[item.id] = true; });
    var done = records.filter(function (r) { return r.state === "done" || r.state === "refused"; });
    var stale = done.slice(0, Math.max(0, done.length - KEEP_DONE)).map(function (r) { return r.seq; });
    forget(stale);
    records.forEach(function (record) {
      if (stale.indexOf(record.seq) >= 0 || known[record.id]) { return; }
      if (record.state === "sending" || record.state === "queued") { record.state = "waiting"; }
      var finished = record.state === "done" || record.state === "refused";
      if (finished && record.lane !== lane) { return; }
      items.unshift(record);
    });
    items.sort(function (a, b) { return (a.seq || 0) - (b.seq || 0); });
    items.forEach(draw);
    showLine();
  });
  loaded.then(next);

  // ------------------------------------------------------------------ the service worker
  var COUNTER_PAGE = /^\/office\/[0-9]{6}(\/(acceptance(\/[0-9]+)?|shelving|returns|issue))?$/;
  if ("serviceWorker" in navigator && window.caches && COUNTER_PAGE.test(location.pathname)) {
    var here = location.pathname;
    navigator.serviceWorker.register("/office/sw.js", { scope: "/office/" }).then(function () {
      // A page that came before the worker: keep it for a reload offline (the worker keeps
      // the counter's pages it answers itself).
      return caches.open(PAGES_CACHE).then(function (cache) {
        return cache.match(here).then(function (hit) { return hit || cache.add(here); }).then(function () {
          // The menu's /acceptance redirects to the open acceptance: offline it is this page.
          if (form && form.getAttribute("data-queue") === "acceptance") {
            return cache.match(here).then(function (page) {
              return page && cache.put(here.replace(/\/[0-9]+$/, ""), page);
            });
          }
          return null;
        });
      });
    }).catch(function () { return null; });
  }
  var logout = document.querySelector("form[action='/office/logout']");
  if (logout && window.caches) {
    logout.addEventListener("submit", function () { caches.delete(PAGES_CACHE); });
  }
  showLine();
}());
