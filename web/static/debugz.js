// debugz.js: live updates for the debugz pages. Each element with a
// data-live attribute names its live view (a URL relative to the page),
// which comes with those of every other tab on one shared Server-Sent
// Events stream (see start); every message is that element's new content,
// HTML rendered and escaped by templ on the server, patched into the page in
// place. The #live-toggle button pauses and resumes.
// Without this script the pages are plain, complete HTML.
(function () {
  'use strict';
  document.documentElement.classList.add('js');

  var regions = Array.prototype.slice.call(document.querySelectorAll('[data-live]'));
  var button = document.getElementById('live-toggle');
  var streams = [];

  function setStale(stale) {
    if (button) button.classList.toggle('stale', stale);
  }

  // start connects the page's live regions. Every tab of a dashboard shares
  // one stream, run by a SharedWorker (static/live.js), so that open tabs
  // cost one of the browser's six connections to the host in all. Without
  // SharedWorker the page opens the shared stream of its own views itself,
  // and closes it while the page is hidden. Either way a page in the
  // back/forward cache holds nothing (pagehide/pageshow below).
  function start() {
    var hub = new URL('shared', new URL(regions[0].dataset.live, location.href)).href; // …/live/shared
    var views = regions.map(function (el) {
      var u = new URL(el.dataset.live, location.href);
      return u.pathname.slice(u.pathname.lastIndexOf('/') + 1) + u.search;
    });
    function message(i, data) { if (regions[i]) update(regions[i], data); }
    var worker = null;
    try {
      if (typeof SharedWorker !== 'undefined') worker = new SharedWorker(new URL('../static/live.js', hub).href, { name: 'debugz-live' });
    } catch (e) { worker = null; }
    if (worker) {
      var port = worker.port;
      port.onmessage = function (e) {
        if (e.data.state) setStale(e.data.state !== 'open');
        else message(e.data.i, e.data.data);
      };
      port.start();
      port.postMessage({ hub: hub, views: views });
      streams = [{ close: function () { port.postMessage({ hub: hub, views: [] }); port.close(); } }];
      return;
    }
    var es = null;
    function open() {
      if (es || document.visibilityState === 'hidden') return;
      var source = es = new EventSource(hub + '?' + views.map(function (v) { return 'v=' + encodeURIComponent(v); }).join('&'));
      views.forEach(function (v, i) {
        source.addEventListener(String(i), function (e) { message(i, e.data); });
      });
      // EventSource reconnects by itself; just show that it is trying.
      source.addEventListener('open', function () { setStale(false); });
      source.addEventListener('error', function () { setStale(source.readyState !== EventSource.OPEN); });
    }
    function shut() { if (es) es.close(); es = null; }
    function visibility() { if (document.visibilityState === 'hidden') shut(); else open(); }
    document.addEventListener('visibilitychange', visibility);
    open();
    streams = [{ close: function () { document.removeEventListener('visibilitychange', visibility); shut(); } }];
  }

  // update brings region el to the fragment html. It patches the DOM in
  // place, changing only the nodes that differ, so that a scrolled table
  // keeps its scroll position and selected text, focus and the
  // screen-reader position survive. A region marked data-hold (the span
  // list, where rows move) holds an update while the reader is pointing at
  // it, has scrolled down or has text selected, and offers to show it.
  function update(el, html) {
    // events counts the updates received, updates those shown: the span
    // list may hold some (calm.js, data-hold).
    el.dataset.events = String((+el.dataset.events || 0) + 1);
    var next = document.createElement(el.tagName);
    next.innerHTML = html;
    // The span list paces its new rows (calm.js, loaded by that page).
    if (window.debugzCalm && window.debugzCalm(el, next, {
      apply: function (n) { apply(el, n); }, hold: function (n) { hold(el, n); }, busy: function () { return busy(el); }
    })) return;
    if (el.hasAttribute('data-hold') && busy(el)) {
      hold(el, next);
      return;
    }
    apply(el, next);
  }

  function apply(el, next) {
    patch(el, next);
    clocks();
    el.dataset.updates = String((+el.dataset.updates || 0) + 1);
    var held = heldButton(el, false);
    if (held) held.hidden = true;
    el.heldNext = null;
  }

  function busy(el) {
    var sel = window.getSelection && window.getSelection();
    return el.matches(':hover') || window.scrollY > 0 || (sel && !sel.isCollapsed && el.contains(sel.anchorNode));
  }

  // hold keeps the latest update of el and says how many rows it adds.
  function hold(el, next) {
    el.heldNext = next;
    var have = {};
    el.querySelectorAll('tr[data-id]').forEach(function (tr) { have[tr.dataset.id] = true; });
    var fresh = 0;
    next.querySelectorAll('tr[data-id]').forEach(function (tr) { if (!have[tr.dataset.id]) fresh++; });
    var button = heldButton(el, true);
    var table = next.querySelector('table[data-noun]'); // what the rows are: RPCs but on the logs page
    var noun = table ? table.dataset.noun : 'RPC';
    button.textContent = fresh + ' new ' + noun + (fresh === 1 ? '' : 's') + ': show';
    button.hidden = fresh === 0;
  }

  function heldButton(el, make) {
    var b = el.previousElementSibling;
    if (b && b.classList.contains('held')) return b;
    if (!make) return null;
    b = document.createElement('button');
    b.type = 'button';
    b.className = 'held';
    b.addEventListener('click', function () { if (el.heldNext) apply(el, el.heldNext); });
    el.parentNode.insertBefore(b, el);
    return b;
  }

  // patch makes the children of to equal to those of from, reusing every
  // node whose type and tag match in place.
  function patch(to, from) {
    var a = to.firstChild, b = from.firstChild;
    while (b) {
      var nextB = b.nextSibling;
      if (!a) {
        to.appendChild(b);
      } else if (a.nodeType === b.nodeType && a.nodeName === b.nodeName &&
                 (a.nodeType !== 1 || a.getAttribute('data-id') === b.getAttribute('data-id'))) {
        if (a.nodeType === 1) {
          attributes(a, b);
          patch(a, b);
        } else if (a.nodeValue !== b.nodeValue) {
          a.nodeValue = b.nodeValue;
        }
        a = a.nextSibling;
      } else {
        var nextA = a.nextSibling;
        to.replaceChild(b, a);
        a = nextA;
      }
      b = nextB;
    }
    while (a) {
      var n = a.nextSibling;
      to.removeChild(a);
      a = n;
    }
  }

  function attributes(a, b) {
    var i, attr;
    for (i = a.attributes.length - 1; i >= 0; i--) {
      attr = a.attributes[i];
      if (!b.hasAttribute(attr.name)) a.removeAttribute(attr.name);
    }
    for (i = 0; i < b.attributes.length; i++) {
      attr = b.attributes[i];
      if (a.getAttribute(attr.name) !== attr.value) a.setAttribute(attr.name, attr.value);
    }
  }

  function stop() {
    streams.forEach(function (es) { es.close(); });
    streams = [];
    setStale(false);
  }

  function render(live) {
    if (!button) return;
    button.setAttribute('aria-pressed', live ? 'true' : 'false');
    button.textContent = live ? 'Live' : 'Paused';
    button.title = live ? 'Updating every second: click to pause' : 'Paused: click to resume live updates';
  }

  // A waterfall row's fold button hides the rows under it (deeper rows
  // that follow it) and shows them again, keeping folded branches folded.
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button.fold');
    if (!b) return;
    var tr = b.closest('tr'), depth = +tr.dataset.depth;
    var open = b.getAttribute('aria-expanded') !== 'true';
    b.setAttribute('aria-expanded', open ? 'true' : 'false');
    var under = Infinity; // the depth of a folded row being skipped
    for (var r = tr.nextElementSibling; r && +r.dataset.depth > depth; r = r.nextElementSibling) {
      var d = +r.dataset.depth;
      if (!open || d > under) { r.hidden = true; continue; }
      under = Infinity;
      r.hidden = false;
      var f = r.querySelector('button.fold');
      if (f && f.getAttribute('aria-expanded') === 'false') under = d;
    }
  });

  // In the waterfall, a span opens beside it: its page is fetched (same
  // origin, rendered and escaped by templ like any page) and its main
  // content shown in the aside, as Jaeger and Aspire open span details.
  var detail = document.getElementById('span-detail');
  if (detail && window.fetch && window.DOMParser) {
    document.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('table.waterfall a[href*="spans/"]');
      if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      var row = a.closest('tr');
      fetch(a.href, { credentials: 'same-origin' }).then(function (res) {
        return res.ok ? res.text() : Promise.reject(res.status);
      }).then(function (html) {
        var main = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
        if (!main) return;
        detail.replaceChildren.apply(detail, Array.prototype.slice.call(main.childNodes));
        // Links to the trace already open lead nowhere new: a button
        // ("View trace →") goes, a trace ID stays as text.
        var here = location.href.split('#')[0];
        detail.querySelectorAll('a[href]').forEach(function (l) {
          if (l.href.split('#')[0] !== here) return;
          if (l.classList.contains('button')) { l.remove(); return; }
          var text = document.createElement('span');
          text.className = l.className;
          text.textContent = l.textContent;
          l.replaceWith(text);
        });
        var close = document.createElement('button');
        close.type = 'button';
        close.className = 'close';
        close.textContent = '×';
        close.title = 'Close';
        close.addEventListener('click', function () {
          detail.hidden = true;
          detail.parentNode.classList.remove('open');
          document.querySelectorAll('table.waterfall tr.selected').forEach(function (r) { r.classList.remove('selected'); });
        });
        detail.prepend(close);
        detail.hidden = false;
        detail.parentNode.classList.add('open');
        document.querySelectorAll('table.waterfall tr.selected').forEach(function (r) { r.classList.remove('selected'); });
        row.classList.add('selected');
      }).catch(function () { window.location.href = a.href; });
    });
  }

  // The in-flight table sends times, not durations from now, so that a row
  // that did not change is not sent again: <time data-since> shows how long
  // ago it was, <time data-until> how long until it (or since it passed).
  // Without this script they show the time itself.
  function clocks() {
    var now = Date.now();
    document.querySelectorAll('time[data-since]').forEach(function (t) {
      t.textContent = duration(now - Date.parse(t.dateTime));
    });
    document.querySelectorAll('time[data-until]').forEach(function (t) {
      var left = Date.parse(t.dateTime) - now;
      t.textContent = left >= 0 ? 'in ' + duration(left) : 'passed ' + duration(-left) + ' ago';
      t.parentNode.classList.toggle('errors', left < 0);
    });
  }

  // duration formats ms milliseconds as the server's fmtDuration does:
  // three significant digits below a minute ("12.3s"), then "1m5s".
  function duration(ms) {
    if (!(ms > 0)) return '0';
    if (ms < 999.5) return sig3(ms, 'ms');
    if (ms < 59950) return sig3(ms / 1000, 's');
    var s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    return (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + s % 60 + 's';
  }

  function sig3(v, unit) {
    return (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) + unit;
  }

  // The summary has one tab stop per row, its method link; the row's other
  // links (counts, codes, buckets) are reached with the arrow keys: left
  // and right within the row, up and down to the same link of the rows
  // around it, Home and End to the row's first and last.
  document.addEventListener('keydown', function (e) {
    var a = e.target;
    if (e.altKey || e.ctrlKey || e.metaKey || !a.closest || a.tagName !== 'A') return;
    var tr = a.closest('table.summary tbody tr');
    if (!tr) return;
    var links = Array.prototype.slice.call(tr.querySelectorAll('a'));
    var i = links.indexOf(a), to = null;
    if (e.key === 'ArrowRight') to = links[i + 1];
    else if (e.key === 'ArrowLeft') to = links[i - 1];
    else if (e.key === 'Home') to = links[0];
    else if (e.key === 'End') to = links[links.length - 1];
    else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      var rows = Array.prototype.filter.call(tr.closest('table').querySelectorAll('tbody tr'),
        function (r) { return r.querySelector('a'); });
      var row = rows[rows.indexOf(tr) + (e.key === 'ArrowDown' ? 1 : -1)];
      if (row) {
        var there = row.querySelectorAll('a');
        to = there[Math.min(i, there.length - 1)];
      }
    }
    if (to) {
      e.preventDefault();
      to.focus();
    }
  });

  if (document.querySelector('time[data-since], time[data-until]')) {
    clocks();
    setInterval(clocks, 1000);
  }

  // The CPU page blocks while it profiles: say so, and fill a bar over
  // the seconds asked for.
  var profiling = document.getElementById('profiling');
  var profileForm = profiling && document.querySelector('form.filter');
  if (profileForm) {
    profileForm.addEventListener('submit', function () {
      var seconds = Math.max(+profileForm.elements.seconds.value || 5, 1);
      var bar = profiling.querySelector('progress'), began = Date.now();
      profiling.querySelector('.seconds').textContent = String(seconds);
      profiling.hidden = false;
      bar.value = 0;
      var tick = setInterval(function () {
        bar.value = Math.min(100, (Date.now() - began) / (10 * seconds));
        if (bar.value >= 100) clearInterval(tick);
      }, 100);
      var submit = profileForm.querySelector('button[type="submit"]');
      if (submit) { submit.disabled = true; submit.textContent = 'Profiling…'; }
    });
    window.addEventListener('pageshow', function (e) { // back to it from the cache
      if (!e.persisted) return;
      profiling.hidden = true;
      var submit = profileForm.querySelector('button[type="submit"]');
      if (submit) { submit.disabled = false; submit.textContent = 'Profile'; }
    });
  }

  if (regions.length === 0 || typeof EventSource === 'undefined' || !window.URL) {
    if (button) button.hidden = true;
    return;
  }
  var live = true;
  if (button) {
    button.addEventListener('click', function () {
      live = !live;
      if (live) start(); else stop();
      render(live);
    });
  }
  render(live);
  start();
  // A page going into the back/forward cache lets go of its stream, and
  // takes it up again when it is shown.
  window.addEventListener('pagehide', function () { if (live) stop(); });
  window.addEventListener('pageshow', function (e) { if (live && e.persisted) start(); });
})();
