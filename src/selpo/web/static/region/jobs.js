// selpo regional dashboard: the progress of the plans and simulations started on the page.
// While a job is queued or running, ask /region/api/jobs every two seconds and update its row;
// when one ends, reload the page (its plan or run then shows in the lists above).
(function () {
  "use strict";
  var table = document.getElementById("jobs");
  if (!table) { return; }
  var LABELS = { queued: "в очереди", running: "идёт", done: "готово", failed: "не удалось" };
  function busy() { return table.querySelector("tr[data-status='queued'], tr[data-status='running']"); }
  function poll() {
    if (!busy()) { return; }
    fetch(table.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var ended = false;
        body.jobs.forEach(function (job) {
          var row = document.getElementById("job-" + job.id);
          if (!row) { return; }
          var was = row.dataset.status;
          row.dataset.status = job.status;
          row.querySelector(".job-status").textContent = LABELS[job.status] || "—";
          var bar = row.querySelector("progress");
          bar.value = Math.round(job.progress * 100);
          bar.textContent = bar.value + " %";
          row.querySelector(".job-stage").textContent = job.stage;
          if ((was === "queued" || was === "running") && (job.status === "done" || job.status === "failed")) { ended = true; }
        });
        if (ended) { window.location.reload(); }
      })
      .catch(function () { /* the next round asks again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
}());
