// selpo counter service worker (served at /office/sw.js, scope /office/): keeps the counter's
// pages and their static files so that a reload works while the village line is down.
// Static files at hashed names: from the cache first (they never change). The counter's
// pages: from the network, the copy kept when the network fails or is too slow to answer.
// Scans are not its business: the page queues them in IndexedDB (counter.js).
"use strict";
var VERSION = "__VERSION__";
var ASSETS = __ASSETS__;
var STATIC_CACHE = "selpo-counter-static-" + VERSION;
var PAGES_CACHE = "selpo-counter-pages";
var PAGE_TIMEOUT_MS = 10000;
var COUNTER_PAGE = /^\/office\/[0-9]{6}(\/(acceptance(\/[0-9]+)?|shelving|returns|issue))?$/;
var OPEN_ACCEPTANCE = /^\/office\/[0-9]{6}\/acceptance\/[0-9]+$/;
var HASHED = /\.[0-9a-f]{10}\.[a-z0-9]+$/;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(ASSETS); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("selpo-counter-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function kept(request) {
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.match(new URL(request.url).pathname);
  });
}

function page(request) {
  var path = new URL(request.url).pathname;
  var network = fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected) {
      var copy = response.clone();
      var alias = OPEN_ACCEPTANCE.test(path) ? response.clone() : null;
      caches.open(PAGES_CACHE).then(function (cache) {
        // The menu's /acceptance redirects to the open acceptance: offline it is that page.
        if (alias) { cache.put(path.replace(/\/[0-9]+$/, ""), alias); }
        return cache.put(path, copy);
      });
    }
    return response;
  });
  var slow = new Promise(function (resolve) {
    setTimeout(function () { kept(request).then(resolve); }, PAGE_TIMEOUT_MS);
  });
  return Promise.race([network, slow.then(function (copy) { return copy || network; })])
    .catch(function () {
      return kept(request).then(function (copy) {
        return copy || new Response(
          "<!doctype html><meta charset=utf-8><title>Нет связи</title>" +
          "<p>Нет связи с сервером, а эта страница ещё не сохранена на компьютере.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
        );
      });
    });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/static/") === 0 && HASHED.test(url.pathname)) {
    event.respondWith(caches.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) { return cache.put(request, copy); });
        }
        return response;
      });
    }));
    return;
  }
  if (request.mode === "navigate" && COUNTER_PAGE.test(url.pathname)) {
    event.respondWith(page(request));
  }
});
