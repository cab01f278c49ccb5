// selpo regional dashboard: the network on a Leaflet map (Leaflet served by selpo itself).
// Offices are circle markers coloured by status; coverage circles around serving (solid) and
// planned (dashed) offices; hubs as squares; routes as lines hub -> stops. Data comes as JSON
// from /region/api; a click on an office fetches its figures for the page's period. Every office
// names itself on hover (index and name); zoomed in, names stand beside the markers: serving and
// planned offices from zoom 9, every office from zoom 11 (the layer «Названия»).
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var data = el.dataset;
  var COLOURS = { serving: "#2b8a3e", planned: "#1c7ed6", not_connected: "#adb5bd", closed: "#c92a2a" };
  var STATUS = {
    serving: "обслуживает маркетплейсы", planned: "в плане подключения",
    not_connected: "не подключено", closed: "закрыто"
  };
  var statusLine = document.getElementById("map-status");

  var map = L.map(el, { zoomSnap: 0.25, attributionControl: !!data.tiles, preferCanvas: false });
  if (data.tiles) {
    L.tileLayer(data.tiles, { maxZoom: 18, attribution: data.attribution || "" }).addTo(map);
  }
  L.control.scale({ imperial: false }).addTo(map);
  var b = (data.bounds || "").split(",").map(Number);
  var bounds = b.length === 4 && !b.some(isNaN) ? L.latLngBounds([b[0], b[1]], [b[2], b[3]]) : null;
  if (bounds) { map.fitBounds(bounds.pad(0.03)); } else { map.setView([57.0, 41.0], 7); }

  // Coverage under the routes, the routes under the offices (each pane its own SVG layer).
  map.createPane("coverage").style.zIndex = "350";
  map.createPane("routes").style.zIndex = "380";
  var coverage = L.layerGroup().addTo(map);
  var routes = L.layerGroup().addTo(map);
  var offices = L.layerGroup().addTo(map);
  var hubs = L.layerGroup().addTo(map);
  var labels = L.layerGroup().addTo(map);
  var LABEL_ZOOM = { serving: 9, planned: 9, not_connected: 11, closed: 11 };
  var shown = [];
  L.control.layers(null, {
    "Зоны охвата": coverage, "Маршруты": routes, "Отделения": offices, "Узлы": hubs,
    "Названия": labels
  }, { collapsed: true }).addTo(map);

  function escape(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function drawLabels() {
    labels.clearLayers();
    var zoom = map.getZoom();
    var view = map.getBounds();
    shown.forEach(function (o) {
      if (zoom < LABEL_ZOOM[o.status] || !view.contains([o.lat, o.lon])) { return; }
      L.marker([o.lat, o.lon], {
        icon: L.divIcon({ className: "office-label office-label-" + o.status, html: escape(o.name), iconSize: null, iconAnchor: [-8, 6] }),
        interactive: false, keyboard: false
      }).addTo(labels);
    });
  }

  if (!data.tiles && bounds) { graticule(bounds.pad(0.6)); }

  function graticule(area) {
    var lines = L.layerGroup().addTo(map);
    var step = 0.5;
    var south = Math.floor(area.getSouth() / step) * step, north = Math.ceil(area.getNorth() / step) * step;
    var west = Math.floor(area.getWest()), east = Math.ceil(area.getEast());
    var style = { className: "graticule", interactive: false, weight: 1, color: "#d8dde3", pane: "coverage" };
    for (var lat = south; lat <= north + 1e-9; lat += step) {
      L.polyline([[lat, west], [lat, east]], style).addTo(lines);
    }
    for (var lon = west; lon <= east + 1e-9; lon += 1) {
      L.polyline([[south, lon], [north, lon]], style).addTo(lines);
    }
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== undefined && params[k] !== "") {
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
      }
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error(body.detail || ("HTTP " + response.status)); }
          return body;
        });
      });
  }

  function node(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) { n.textContent = text; }
    if (cls) { n.className = cls; }
    return n;
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1).replace(".", ",") + "\u00a0%"; }
  // The same grouping (no-break space) and sign as the pages' Babel ru_RU (selpo.kit.display).
  function count(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0"); }
  function rub(kop) {
    var r = Math.floor(Math.abs(kop) / 100), k = Math.abs(kop) % 100;
    return (kop < 0 ? "−" : "") + String(r).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0") + "," + (k < 10 ? "0" : "") + k + "\u00a0₽";
  }

  function popupBody(office, figures) {
    var box = node("div", null, "popup");
    box.appendChild(node("h3", office.index + " " + office.name));
    box.appendChild(node("div", STATUS[office.status] || office.status, "muted"));
    if (!figures) {
      box.appendChild(node("p", "Показатели — только по отделениям вашего района.", "muted"));
      return box;
    }
    var f = figures.figures;
    box.appendChild(node("div", "За " + figures.from.split("-").reverse().join(".") + "–" + figures.to.split("-").reverse().join("."), "muted"));
    var table = node("table");
    function row(label, value) {
      var tr = node("tr");
      tr.appendChild(node("td", label));
      tr.appendChild(node("td", value));
      table.appendChild(tr);
    }
    row("Получено", count(f.received));
    row("Выдано", count(f.issued));
    row("Вовремя", f.promised ? pct(f.on_time_share) + " (" + count(f.on_time) + " из " + count(f.promised) + ")" : "—");
    row("Ячейки заняты", count(f.on_shelves) + " из " + count(f.cells) + (f.serving_cells ? " (" + pct(f.storage_use) + ")" : ""));
    if (f.overflow) { row("Сверх ячеек", count(f.overflow)); }
    row("Невостребовано", f.outcomes ? pct(f.unclaimed_share) + " (" + count(f.unclaimed) + " из " + count(f.outcomes) + ")" : "—");
    Object.keys(f.cash_kop).forEach(function (m) { row("Наложенный, " + m, rub(f.cash_kop[m])); });
    row("Наложенный, всего", rub(f.cash_total_kop));
    box.appendChild(table);
    box.appendChild(node("div", "Маркетплейсы: " + (figures.marketplaces.length ? figures.marketplaces.join(", ") : "нет"), "muted"));
    return box;
  }

  // The popup opens once its content is there, so the map pans to show all of it.
  function show(marker, content) {
    marker.unbindPopup();
    marker.bindPopup(content, { maxWidth: 360, minWidth: 240, autoPanPadding: [12, 12] }).openPopup();
  }

  function openOffice(marker, office) {
    if (!office.mine) { show(marker, popupBody(office, null)); return; }
    el.classList.add("loading");
    getJSON(data.office + encodeURIComponent(office.index) + query({ region: data.region, from: data.from, to: data.to }))
      .then(function (figures) { show(marker, popupBody(office, figures)); })
      .catch(function (error) { show(marker, node("div", "Не удалось загрузить: " + error.message, "popup")); })
      .then(function () { el.classList.remove("loading"); });
  }

  var loadedBox = null;
  var truncated = false;

  function viewBox() { return map.getBounds().pad(0.5); }

  function loadOffices() {
    var area = viewBox();
    getJSON(data.offices + query({ region: data.region, plan: data.plan, bbox: area.toBBoxString() })).then(function (body) {
      loadedBox = area;
      truncated = body.truncated;
      offices.clearLayers();
      coverage.clearLayers();
      var radius = (body.radius_km || 10) * 1000;
      body.offices.forEach(function (o) {
        if (o.status === "serving" || o.status === "planned") {
          L.circle([o.lat, o.lon], {
            radius: radius, interactive: false, weight: 1, color: COLOURS[o.status], pane: "coverage",
            fillOpacity: 0.05, dashArray: o.status === "planned" ? "6 6" : null,
            className: "coverage coverage-" + o.status
          }).addTo(coverage);
        }
        var marker = L.circleMarker([o.lat, o.lon], {
          radius: o.status === "not_connected" ? 4 : 6, weight: o.status === "closed" ? 2 : 1,
          color: o.status === "closed" ? COLOURS.closed : "#222",
          fillColor: o.status === "closed" ? "#fff" : COLOURS[o.status], fillOpacity: 0.95,
          className: "office office-" + o.status + " office-" + o.index + (o.mine ? "" : " office-foreign")
        });
        marker.bindTooltip(o.index + " " + o.name, { className: "office-tooltip" });
        marker.on("click", function () { openOffice(marker, o); });
        marker.addTo(offices);
      });
      Object.keys(body.counts).forEach(function (status) {
        var count = document.getElementById("count-" + status);
        if (count) { count.textContent = String(body.counts[status]); }
      });
      if (statusLine) {
        statusLine.textContent = truncated ? "Показана часть отделений: приблизьте карту." : "";
      }
      shown = body.offices;
      drawLabels();
      el.setAttribute("data-loaded", String(body.offices.length));
    }).catch(function (error) {
      if (statusLine) { statusLine.textContent = "Отделения не загрузились: " + error.message; }
    });
  }

  function loadNetwork() {
    var bbox = viewBox().toBBoxString();
    getJSON(data.hubs + query({ region: data.region, bbox: bbox })).then(function (body) {
      hubs.clearLayers();
      body.hubs.forEach(function (h) {
        L.marker([h.lat, h.lon], {
          icon: L.divIcon({ className: "hub-icon " + h.kind, iconSize: [12, 12] }),
          title: h.name, keyboard: false
        }).bindTooltip(h.name).addTo(hubs);
      });
    });
    getJSON(data.routes + query({ region: data.region, bbox: bbox })).then(function (body) {
      routes.clearLayers();
      body.routes.forEach(function (r) {
        L.polyline(r.points, {
          weight: 2, opacity: 0.55, color: "#7048e8", className: "route", pane: "routes"
        }).bindTooltip("Маршрут " + r.code + " (" + r.weekdays.split("|").join(", ") + ")").addTo(routes);
      });
    });
  }

  // An open popup keeps its marker: the pan that shows the popup reloads nothing (a reload
  // redraws the markers and would close it); the next move after it closes does.
  var popupOpen = false;
  function reloadIfLeft() {
    if (popupOpen) { return; }
    if (truncated || !loadedBox || !loadedBox.contains(map.getBounds())) {
      loadOffices();
      loadNetwork();
    }
  }
  map.on("popupopen", function () { popupOpen = true; });
  map.on("popupclose", function () { popupOpen = false; });
  map.on("zoomend", drawLabels);
  map.on("moveend", function () {
    drawLabels();
    reloadIfLeft();
  });
  loadOffices();
  loadNetwork();
}());
