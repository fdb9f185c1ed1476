// Conditional fields: each `.conditionnel` wrapper carries its condition (the démarche format's
// JSON); it is hidden while the condition is false and revealed as the usager answers, and the
// change is announced to screen readers. Without JavaScript, the condition is spelled out.
(function () {
  var form = document.querySelector('form[data-autosave]');
  var live = document.getElementById('conditions-annonce');
  if (!form || !window.JSON) return;
  var wrappers = form.querySelectorAll('.conditionnel');
  if (!wrappers.length) return;

  function values(item, field) {
    var names = item ? [item + '.' + field, field] : [field];
    for (var n = 0; n < names.length; n++) {
      var found = [], seen = false;
      var controls = form.elements;
      for (var i = 0; i < controls.length; i++) {
        var c = controls[i];
        if (c.name !== names[n]) continue;
        seen = true;
        if ((c.type === 'radio' || c.type === 'checkbox') && !c.checked) continue;
        if (c.value && c.value.trim() !== '') found.push(c.value.trim());
      }
      if (seen) return found;
    }
    return [];
  }
  function parse(v) {
    var iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v), fr = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(v);
    if (iso) return Number(iso[1] + iso[2] + iso[3]);
    if (fr) return Number(fr[3] + fr[2] + fr[1]);
    var n = Number(String(v).replace(/\s/g, '').replace(',', '.'));
    return isNaN(n) ? null : n;
  }
  function compare(op, a, b) {
    if (a === null || b === null) return false;
    switch (op) {
      case 'lt': case 'before': return a < b;
      case 'le': return a <= b;
      case 'eq': return a === b;
      case 'ge': return a >= b;
      case 'gt': case 'after': return a > b;
    }
    return false;
  }
  function holds(c, item) {
    if ((c.all && c.all.length) || (c.any && c.any.length)) {
      var all = (c.all || []).every(function (x) { return holds(x, item); });
      var any = !(c.any && c.any.length) || c.any.some(function (x) { return holds(x, item); });
      return all && any;
    }
    var v = values(item, c.field);
    if (c.equals && c.equals.length) return v.some(function (x) { return c.equals.indexOf(x) >= 0; });
    if (c.differs && c.differs.length) return v.length > 0 && !v.some(function (x) { return c.differs.indexOf(x) >= 0; });
    if (c.includes) return v.indexOf(c.includes) >= 0;
    if (c.compare && v.length) return compare(c.compare, parse(v[0]), parse(c.value));
    return false;
  }
  function update(announce) {
    var revealed = [];
    for (var i = 0; i < wrappers.length; i++) {
      var w = wrappers[i];
      var condition;
      try { condition = JSON.parse(w.getAttribute('data-condition')); } catch (e) { continue; }
      var show = holds(condition, w.getAttribute('data-item'));
      // The condition is no longer spelled out: the field appears when it applies.
      var hints = w.querySelectorAll('.hint.condition');
      for (var h = 0; h < hints.length; h++) hints[h].hidden = true;
      if (show && w.hidden) revealed.push(w.getAttribute('data-label'));
      w.hidden = !show;
      var marks = w.querySelectorAll('[data-obligatoire]');
      for (var k = 0; k < marks.length; k++) marks[k].hidden = !show;
    }
    if (announce && live && revealed.length) {
      live.textContent = 'Nouvelle question : ' + revealed.join(', ') + '.';
    }
  }
  update(false);
  form.addEventListener('change', function () { update(true); });
  form.addEventListener('input', function () { update(true); });
})();
