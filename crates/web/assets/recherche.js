// Suggestions while typing in the search field: titles of démarches and services, offered
// through the field's datalist (the browser shows them accessibly). Without JavaScript the
// plain form works the same.
(function () {
  var input = document.getElementById('q');
  var list = document.getElementById('suggestions');
  if (!input || !list || !window.fetch) return;
  var timer = null;
  var last = '';
  input.addEventListener('input', function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () {
      var text = input.value.trim();
      if (text.length < 2 || text === last) return;
      last = text;
      fetch('/recherche/suggestions?q=' + encodeURIComponent(text), { credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (titles) {
          list.textContent = '';
          titles.forEach(function (t) {
            var option = document.createElement('option');
            option.value = t;
            list.appendChild(option);
          });
        })
        .catch(function () { /* suggestions are a convenience: the form still works */ });
    }, 200);
  });
})();
