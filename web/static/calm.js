// calm.js: the span list and the logs at a pace a person can read.
// debugz.js hands it every live update of a region holding a table.paced
// (its rows marked data-id, newest first); new rows come in
// batches at most every PACE ms, each batch briefly marked, and when more
// than MANY arrive at once (a busy service) they wait behind debugz.js's
// "N new RPCs: show" button ("log records" on the logs page: the table's
// data-noun) instead of pushing the list down. The span
// list's columns have fixed widths (debugz.css: table.calm), so rows
// arriving never move them. Without this script the lists update as every
// live region does.
(function () {
  'use strict';
  var PACE = 2500; // ms between two batches of new rows
  var MANY = 12;   // more new rows than this at once wait behind the button
  var state = new WeakMap(); // region → { pending: its latest update, timer }

  function ids(root) {
    var have = {};
    root.querySelectorAll('tr[data-id]').forEach(function (tr) { have[tr.dataset.id] = true; });
    return have;
  }

  function fresh(have, next) {
    var n = 0;
    next.querySelectorAll('tr[data-id]').forEach(function (tr) { if (!have[tr.dataset.id]) n++; });
    return n;
  }

  // decide shows, holds or keeps for later the region's latest update.
  function decide(el, api) {
    var s = state.get(el);
    var next = s.pending;
    s.pending = null;
    if (!next) return;
    var before = ids(el);
    var n = fresh(before, next);
    if (api.busy() || (n > MANY && el.querySelector('tr[data-id]'))) {
      api.hold(next); // the button says how many; the reader chooses when
      return;
    }
    api.apply(next);
    if (n === 0) return;
    el.querySelectorAll('tr[data-id]').forEach(function (tr) {
      if (!before[tr.dataset.id]) tr.classList.add('arrived');
    });
    s.timer = setTimeout(function () {
      s.timer = null;
      decide(el, api);
    }, PACE);
  }

  // debugzCalm takes the update next of region el if el holds a paced
  // table, and reports whether it did; api applies, holds, and says
  // whether the reader is busy with the region (debugz.js).
  window.debugzCalm = function (el, next, api) {
    if (!el.querySelector('table.paced') && !next.querySelector('table.paced')) return false;
    var s = state.get(el);
    if (!s) {
      s = { pending: null, timer: null };
      state.set(el, s);
    }
    s.pending = next;
    if (!s.timer) decide(el, api);
    return true;
  };
})();
