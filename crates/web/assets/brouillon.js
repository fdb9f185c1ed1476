// Autosave of a dossier step: each change is saved like "Enregistrer le brouillon" (files are
// sent with the form's own buttons), and the time of the last save is shown and announced.
(function () {
  var form = document.querySelector('form[data-autosave]');
  var status = document.getElementById('autosave');
  if (!form || !status || !window.fetch || !window.URLSearchParams || !window.FormData) return;
  var timer = null;
  function save() {
    timer = null;
    var data = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (typeof value === 'string') data.append(key, value);
    });
    data.set('action', 'enregistrer');
    fetch(form.getAttribute('data-autosave'), {
      method: 'POST',
      body: data,
      credentials: 'same-origin',
      redirect: 'manual',
      headers: { 'X-Autosave': '1' }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      var now = new Date().toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
      status.textContent = 'Brouillon enregistré à ' + now;
    }).catch(function () {
      status.textContent = 'Enregistrement automatique impossible : utilisez « Enregistrer le brouillon ».';
    });
  }
  form.addEventListener('change', function (event) {
    if (event.target && event.target.type === 'file') return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 500);
  });
})();
