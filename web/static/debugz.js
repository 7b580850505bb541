// debugz.js: live updates for the debugz pages. Each element with a
// data-live attribute names a Server-Sent Events stream (a URL relative to
// the page); every message is that element's new content, HTML rendered and
// escaped by templ on the server. The #live-toggle button pauses and resumes.
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

  function start() {
    streams = regions.map(function (el) {
      var es = new EventSource(el.dataset.live);
      es.addEventListener('message', function (e) {
        el.innerHTML = e.data;
      });
      // EventSource reconnects by itself; just show that it is trying.
      es.addEventListener('open', function () { setStale(false); });
      es.addEventListener('error', function () {
        setStale(es.readyState !== EventSource.OPEN);
      });
      return es;
    });
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

  if (regions.length === 0 || typeof EventSource === 'undefined') {
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
})();
