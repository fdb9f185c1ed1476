// Maps on demand. A page offers a map with an empty <div data-carte="choisir|afficher">; this
// script adds a button that fetches the map library (Leaflet, vendored) only when pressed.
// "choisir": a click on the map (or "Ma position") fills the latitude and longitude fields,
// which stay editable. "afficher": the reports listed on the page (elements with data-lat and
// data-lon) are drawn, each linked to its page. Without JavaScript the page works the same.
(function () {
  var boxes = document.querySelectorAll('[data-carte]');
  if (!boxes.length || !window.Promise) return;
  var loading = null;

  function loadLibrary(box) {
    if (window.L) return Promise.resolve();
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = box.getAttribute('data-leaflet-css');
        document.head.appendChild(css);
        var script = document.createElement('script');
        script.src = box.getAttribute('data-leaflet-js');
        script.onload = resolve;
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  function decimal(n) { return n.toFixed(6).replace('.', ','); }
  function number(s) { return parseFloat(String(s || '').replace(',', '.')); }

  function button(text, onClick) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = text;
    b.addEventListener('click', onClick);
    return b;
  }

  function draw(box, status) {
    var area = document.createElement('div');
    area.className = 'carte';
    area.setAttribute('role', 'region');
    area.setAttribute('aria-label', box.getAttribute('data-titre'));
    box.appendChild(area);
    var centre = box.getAttribute('data-centre').split(',');
    var map = window.L.map(area).setView([number(centre[0]), number(centre[1])],
      parseInt(box.getAttribute('data-zoom'), 10));
    window.L.tileLayer(box.getAttribute('data-tuiles'), {
      attribution: box.getAttribute('data-attribution'), maxZoom: 19
    }).addTo(map);

    if (box.getAttribute('data-carte') === 'choisir') {
      var lat = document.getElementById('latitude');
      var lon = document.getElementById('longitude');
      var marker = null;
      var place = function (latlng, zoom) {
        if (marker) marker.setLatLng(latlng);
        else marker = window.L.circleMarker(latlng, { radius: 9, color: '#000091' }).addTo(map);
        lat.value = decimal(latlng.lat);
        lon.value = decimal(latlng.lng);
        if (zoom) map.setView(latlng, zoom);
        status.textContent = 'Lieu choisi : latitude ' + lat.value + ', longitude ' + lon.value + '.';
      };
      if (!isNaN(number(lat.value)) && !isNaN(number(lon.value))) {
        place(window.L.latLng(number(lat.value), number(lon.value)), 17);
      }
      map.on('click', function (e) { place(e.latlng); });
      if (navigator.geolocation) {
        box.insertBefore(button('Utiliser ma position', function () {
          status.textContent = 'Recherche de votre position…';
          navigator.geolocation.getCurrentPosition(function (p) {
            place(window.L.latLng(p.coords.latitude, p.coords.longitude), 17);
          }, function () {
            status.textContent = 'Position indisponible : cliquez sur la carte ou saisissez les coordonnées.';
          });
        }), area);
      }
    } else {
      var bounds = [];
      var points = document.querySelectorAll('[data-lat][data-lon]');
      Array.prototype.forEach.call(points, function (el) {
        var at = [number(el.getAttribute('data-lat')), number(el.getAttribute('data-lon'))];
        if (isNaN(at[0]) || isNaN(at[1])) return;
        var link = el.querySelector('a');
        var m = window.L.circleMarker(at, { radius: 8, color: '#000091' }).addTo(map);
        if (link) {
          var popup = document.createElement('a');
          popup.href = link.getAttribute('href');
          popup.textContent = link.textContent;
          m.bindPopup(popup);
        }
        bounds.push(at);
      });
      if (bounds.length === 1) map.setView(bounds[0], 17);
      else if (bounds.length > 1) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
      status.textContent = bounds.length + ' signalement(s) sur la carte.';
    }
  }

  Array.prototype.forEach.call(boxes, function (box) {
    var status = document.createElement('p');
    status.className = 'hint';
    status.setAttribute('role', 'status');
    var open = button(box.getAttribute('data-bouton'), function () {
      open.disabled = true;
      loadLibrary(box).then(function () {
        open.remove();
        draw(box, status);
      }, function () {
        open.disabled = false;
        status.textContent = 'La carte n\u2019a pas pu être chargée.';
      });
    });
    box.appendChild(open);
    box.appendChild(status);
  });
})();
