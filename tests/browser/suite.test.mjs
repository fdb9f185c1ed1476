// The browser suite of Guichet: every page of the router, as every kind of visitor, checked with
// axe-core (WCAG 2.0/2.1 A and AA), at 320 px wide, and measured for sobriety (bytes, requests,
// EcoIndex); the main journeys with the keyboard only and without JavaScript.
//
// Runs Debian's Chromium through playwright-core against `guichet demo` on a free port.
// Run with scripts/browser-tests (installs what it needs); writes docs/SOBRIETY.md.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { ecoIndex, grade } from './ecoindex.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.env.GUICHET_BIN || join(root, 'target', 'debug', 'guichet');
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PASSWORD = 'demo-guichet-2026';
const BUDGET = { bytes: 35_000, requests: 8, ecoindex: 80 };

let server, base, browser, dataDir;
const personas = {};
const measures = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitHealthy(url) {
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('guichet demo did not become healthy');
}

async function newPage(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  // Measure every page as a first visit: nothing served from the cache.
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  return page;
}

/// Logs in through the login form, and the second factor with the code the demo page shows.
async function login(context, email) {
  const page = await newPage(context);
  await page.goto(`${base}/connexion`);
  await page.fill('#email', email);
  await page.fill('#mot_de_passe', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  if (page.url().includes('/connexion/second-facteur')) {
    const codes = await context.newPage();
    await codes.goto(`${base}/demo/courriels`);
    const code = await codes.locator(`tr:has(td:text-is("${email}")) code`).innerText();
    await codes.close();
    await page.fill('#code', code);
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  }
  assert.ok(!page.url().includes('/connexion'), `${email} is logged in (at ${page.url()})`);
  await page.close();
}

before(async () => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'guichet-browser-'));
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['demo', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: {
      ...process.env,
      GUICHET_DATABASE_URL: '',
      // Tiles from the server itself (they 404 quickly): no request leaves the machine.
      GUICHET_MAP_TILE_URL: `http://127.0.0.1:${port}/tuiles/{z}/{x}/{y}.png`,
    },
  });
  await waitHealthy(base);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  personas.anonymous = { context: await browser.newContext({ bypassCSP: true, locale: 'fr-FR' }), collectivite: 'dijon' };
  for (const [name, email, collectivite] of [
    ['usager', 'usager@demo.example', 'dijon'],
    ['agent', 'agent.dijon@demo.example', 'dijon'],
    ['operateur', 'operateur@demo.example', 'bourgogne-franche-comte'],
    ['aidant', 'aidant@demo.example', 'dijon'],
    ['elue', 'maire.dijon@demo.example', 'dijon'],
  ]) {
    const context = await browser.newContext({ bypassCSP: true, locale: 'fr-FR' });
    await login(context, email);
    personas[name] = { context, collectivite };
  }
});

after(async () => {
  await browser?.close();
  // The server writes its last journal anchor as it stops: wait for it before removing its data.
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function routes() {
  return JSON.parse(execFileSync(bin, ['routes'], { encoding: 'utf8' }));
}

/// The concrete URL of a route for a persona. In a fresh demo, dossiers 1 to 7 of the demo usager
/// are in every state (1 draft, 2 deposited, 3 in instruction, 4 awaiting correction, 5 accepted,
/// 6 refused, 7 closed) and démarche 1 is Dijon's school catering. Signalements 1 to 4 are in
/// Dijon (new, in progress, resolved, awaiting moderation).
function concrete(path, persona) {
  if (path === '/demarches/{collectivite}/{slug}') return '/demarches/dijon/inscription-a-la-restauration-scolaire';
  if (path === '/signalements/{name}') return `/signalements/S${new Date().getUTCFullYear()}-000001`;
  if (path === '/communes/{name}/signalements') return '/communes/21231/signalements';
  if (path === '/donnees/{owner}/{file}') return '/donnees/dijon/signalements';
  // Mâcon adopted Dijon's composteur from the shared template 1 and has a year of dossiers.
  if (path === '/observatoire/{collectivite}/{demarche}') return '/observatoire/macon/demande-de-composteur-de-jardin';
  const dossier = path.startsWith('/admin/') ? '3' : '4';
  return path
    .replace('{collectivite}', persona.collectivite)
    .replace('/dossiers/{id}', `/dossiers/${dossier}`)
    .replace('{step}', '1')
    .replace('{page}', '0')
    .replace('{field}', 'telephone')
    .replace('{slug}', 'dijon')
    .replace('{token}', 'lien-perime')
    .replace('{id}', '1')
    .replace('{name}', '00000001');
}

const NOT_HTML = (r) => r.path === '/healthz' || r.path === '/metrics' || r.path.startsWith('/static/')
  || r.path === '/donnees/{owner}' || r.path.startsWith('/donnees/schemas/')
  || r.path.startsWith('/api/') || r.path === '/recherche/suggestions' || r.path.startsWith('/open311/') || r.path.endsWith('.csv') || r.path.endsWith('.zip') || r.path.endsWith('.xlsx') || r.path.endsWith('.pdf') || r.path.endsWith('/deliberations/{numero}') || r.path.endsWith('/export') || r.path === '/compte/documents/{file}' || r.path.endsWith('/photos/{file}');

/// Visits a URL (or runs `action` on a fresh page) and returns axe violations and the figures.
async function check(context, url, action, alreadyChecked = () => false) {
  const page = await newPage(context);
  const requests = [];
  page.on('requestfinished', (req) => requests.push(req));
  if (action) {
    await action(page);
  } else {
    await page.goto(url, { waitUntil: 'load' });
  }
  // Pages have no script of their own: once loaded, every request is done.
  await page.waitForLoadState('load');
  const landedKey = new URL(page.url()).pathname + new URL(page.url()).search;
  if (alreadyChecked(landedKey)) {
    await page.close();
    return { skipped: true };
  }
  let bytes = 0;
  for (const req of requests) {
    const sizes = await req.sizes();
    bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  }
  const dom = await page.evaluate(() => document.getElementsByTagName('*').length);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => {
    // eslint-disable-next-line no-undef
    return axe.run(document, { runOnly: { type: 'tag', values: tags } });
  }, WCAG_TAGS);
  await page.setViewportSize({ width: 320, height: 640 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0 && process.env.DEBUG_OVERFLOW) {
    console.log(await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth)
      .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 8).join('\n')));
  }
  const title = await page.title();
  const finalUrl = page.url();
  await page.close();
  const score = ecoIndex(dom, requests.length, bytes / 1024);
  return { violations: result.violations, bytes, requests: requests.length, dom, score, overflow, title, finalUrl };
}

/// What the every-page check found, once it has run: pages checked and axe violations.
let axeResult = null;

function describe(v) {
  return v.map((x) => `${x.id} (${x.impact}): ${x.help} — ${x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`).join('\n    ');
}

test('every page, as every kind of visitor, passes axe, fits 320 px and keeps to the budget', async () => {
  const failures = [];
  const seen = new Set();
  const checked = new Set();
  for (const [who, persona] of Object.entries(personas)) {
    for (const r of routes().filter((r) => r.method === 'GET' && !NOT_HTML(r))) {
      const url = `${base}${concrete(r.path, persona)}`;
      const m = await check(persona.context, url, null, (landed) => checked.has(`${who}|${landed}`));
      if (m.skipped) continue;
      checked.add(`${who}|${new URL(m.finalUrl).pathname}${new URL(m.finalUrl).search}`);
      const key = `${who} ${r.path}`;
      if (m.violations.length) failures.push(`${key} (${url}):\n    ${describe(m.violations)}`);
      if (m.overflow > 0) failures.push(`${key}: scrolls horizontally at 320 px (${m.overflow} px)`);
      const publicPage = r.access === 'public' || r.access === 'demo';
      if (m.bytes > BUDGET.bytes || m.requests > BUDGET.requests) failures.push(`${key}: ${m.bytes} bytes, ${m.requests} requests over budget`);
      if (publicPage && who === 'anonymous' && m.score <= BUDGET.ecoindex) failures.push(`${key}: EcoIndex ${m.score.toFixed(1)} is not grade A`);
      const landed = new URL(m.finalUrl).pathname;
      const id = `${who}|${landed}`;
      if (!seen.has(id)) {
        seen.add(id);
        measures.push({ who, route: r.path, landed, kind: publicPage ? 'public' : 'back-office / compte', ...m });
      }
    }
  }
  axeResult = { pages: measures.length, violations: measures.reduce((n, m) => n + m.violations.length, 0) };
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('pages in their error and confirmation states pass axe too', async () => {
  const anon = personas.anonymous.context;
  const agent = personas.agent.context;
  const usager = personas.usager.context;
  const aidant = personas.aidant.context;
  const states = [
    ['mandat avec erreurs', aidant, async (p) => { await p.goto(`${base}/aidant`); await Promise.all([p.waitForNavigation(), p.click('form[action="/aidant/mandats"] button[type=submit]')]); }],
    ['aidant agissant pour une personne', aidant, async (p) => { await p.goto(`${base}/aidant/mandats/1`); await Promise.all([p.waitForNavigation(), p.click('form[action$="/agir"] button')]); await p.goto(`${base}/dossiers/5`); assert.match(await p.locator('.acting').innerText(), /Vous agissez pour Camille Usager/); }],
    ['aidant hors du mandat', aidant, async (p) => { await p.goto(`${base}/compte/sessions`); }],
    ['aidant, fin de l\'action', aidant, async (p) => { await p.goto(`${base}/dossiers`); await Promise.all([p.waitForNavigation(), p.click('.acting button')]); assert.equal(await p.locator('.acting').count(), 0); }],
    ['guichet avec erreurs', agent, async (p) => { await p.goto(`${base}/admin/dijon/guichet`); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); }],
    ['suivi, code inconnu', anon, async (p) => { await p.goto(`${base}/suivi?code=INCONNU&nom=Martin`); }],
    ['rattachement refusé', usager, async (p) => { await p.goto(`${base}/compte/rattacher`); await p.fill('#code', 'INCONNU'); await p.fill('#nom', 'Usager'); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); }],
    ['inscription avec erreurs', anon, async (p) => { await p.goto(`${base}/inscription`); await Promise.all([p.waitForNavigation(), p.click('main button[type=submit]')]); }],
    ['connexion refusée', anon, async (p) => { await p.goto(`${base}/connexion`); await p.fill('#email', 'personne@exemple.fr'); await p.fill('#mot_de_passe', 'pas le bon mot de passe'); await Promise.all([p.waitForNavigation(), p.click('main button[type=submit]')]); }],
    ['mot de passe oublié envoyé', anon, async (p) => { await p.goto(`${base}/mot-de-passe-oublie`); await p.fill('#email', 'personne@exemple.fr'); await Promise.all([p.waitForNavigation(), p.click('main button[type=submit]')]); }],
    ['page introuvable', anon, async (p) => { await p.goto(`${base}/nexiste-pas`); }],
    ['invitation avec erreurs', agent, async (p) => { await p.goto(`${base}/admin/dijon/equipe`); await Promise.all([p.waitForNavigation(), p.click('form[action$="/invitations"] button[type=submit]')]); }],
    ['jeton créé', agent, async (p) => { await p.goto(`${base}/admin/dijon/jetons`); await p.fill('#nom', 'Essai'); await p.check('#portee-1'); await Promise.all([p.waitForNavigation(), p.click('form[action$="/jetons"] button[type=submit]')]); }],
    ['journal filtré, date invalide', agent, async (p) => { await p.goto(`${base}/admin/dijon/journal?du=2026-02-31`); }],
    ['étape avec erreurs', usager, async (p) => { await p.goto(`${base}/dossiers/1/etapes/0`); await p.fill('#telephone', '12'); await Promise.all([p.waitForNavigation(), p.click('button[value=continuer]')]); }],
    ['bloc répété sans JavaScript', usager, async (p) => { await p.goto(`${base}/dossiers/1/etapes/1`); await Promise.all([p.waitForNavigation(), p.click('button[value^="ajouter:"]')]); }],
    ['récapitulatif incomplet', usager, async (p) => { await p.goto(`${base}/dossiers/1/recapitulatif`); }],
    ['dossier accepté', usager, async (p) => { await p.goto(`${base}/dossiers/5`); }],
    ['dossier refusé', usager, async (p) => { await p.goto(`${base}/dossiers/6`); }],
    ['file des dossiers traités', agent, async (p) => { await p.goto(`${base}/admin/dijon/dossiers?file=traites`); }],
    ['dossier en correction (agent)', agent, async (p) => { await p.goto(`${base}/admin/dijon/dossiers/4`); }],
    ['étape avec pièces jointes', usager, async (p) => { await p.goto(`${base}/demarches/cote-d-or/demande-d-aide-pour-l-adaptation-du-logement`); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); await p.goto(p.url().replace(/etapes\/0$/, 'etapes/1')); }],
    ['précisions demandées par la collectivité (signalement)', usager, async (p) => { await p.goto(`${base}/signalements/nouveau`); await p.fill('#commune', 'Dijon'); await p.selectOption('#categorie', { label: 'Dépôt sauvage de déchets' }); await p.fill('#adresse', 'Rue Chabot-Charny'); await p.fill('#description', 'Un tas de gravats sur le trottoir.'); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); assert.ok(await p.locator('#precisions').count(), 'questions asked'); }],
    ['profil avec erreurs', usager, async (p) => { await p.goto(`${base}/compte/profil`); await p.fill('[id="contact.telephone"]', '12'); await Promise.all([p.waitForNavigation(), p.click('button[value=enregistrer]')]); assert.ok(await p.locator('.errors').count(), 'error shown'); }],
    ['profil avec un enfant ajouté', usager, async (p) => { await p.goto(`${base}/compte/profil`); await Promise.all([p.waitForNavigation(), p.click('button[value=ajouter_enfant]')]); }],
    ['porte-documents avec un document', usager, async (p) => { await p.goto(`${base}/compte/documents`); await p.selectOption('#type', 'justificatif_domicile'); await p.setInputFiles('#fichier', { name: 'facture.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n') }); await p.fill('#valable_jusqu_au', new Date(Date.now() + 10 * 86400000).toISOString().slice(0, 10)); await Promise.all([p.waitForNavigation(), p.click('form[enctype] button[type=submit]')]); assert.match(await p.locator('.documents').innerText(), /expire dans/); }],
    ['porte-documents, fichier refusé', usager, async (p) => { await p.goto(`${base}/compte/documents`); await p.selectOption('#type', 'rib'); await p.setInputFiles('#fichier', { name: 'rib.pdf', mimeType: 'application/pdf', buffer: Buffer.from('pas un PDF') }); await Promise.all([p.waitForNavigation(), p.click('form[enctype] button[type=submit]')]); }],
    ['étape avec le porte-documents', usager, async (p) => { await p.goto(`${base}/demarches/cote-d-or/demande-d-aide-pour-l-adaptation-du-logement`); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); await p.goto(p.url().replace(/etapes\/0$/, 'etapes/1')); assert.ok(await p.locator('select[name^="depuis_coffre:"]').count(), 'vault offered'); }],
    ['catégories de signalements avec erreurs', agent, async (p) => { await p.goto(`${base}/admin/dijon/signalements/categories`); await Promise.all([p.waitForNavigation(), p.click('form[action$="/signalements/categories"] button[type=submit]')]); }],
    ['données ouvertes, fichier refusé cellule par cellule', agent, async (p) => { await p.goto(`${base}/admin/dijon/donnees`); await p.fill('#titre', 'Délibérations du conseil'); await p.fill('#description', 'Les délibérations du conseil municipal.'); await p.setInputFiles('#fichier', { name: 'deliberations.csv', mimeType: 'text/csv', buffer: Buffer.from('COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,DELIB_MATIERE_CODE,DELIB_MATIERE_NOM,DELIB_OBJET,BUDGET_ANNEE,BUDGET_NOM,PREF_ID,PREF_DATE,VOTE_EFFECTIF,VOTE_REEL,VOTE_POUR,VOTE_CONTRE,VOTE_ABSTENTION,DELIB_URL\nDijon,123,1,17/11/2026,7.1,Budget,Objet,,,,,,,,,,\n') }); await Promise.all([p.waitForNavigation(), p.click('button[value=verifier]')]); assert.match(await p.locator('#resultat').innerText(), /Ligne 2, colonne « DELIB_DATE »/); }],
    ['signalements filtrés, date invalide', agent, async (p) => { await p.goto(`${base}/admin/dijon/signalements?au=2026-02-31`); }],
    ['recherche qui propose un signalement', anon, async (p) => { await p.goto(`${base}/recherche?q=nid+de+poule&commune=21231`); assert.match(await p.locator('main').innerText(), /Signaler : Chaussée dégradée/); }],
    ['dossiers en lot sans dossier coché', agent, async (p) => { await p.goto(`${base}/admin/dijon/dossiers?file=tous`); await Promise.all([p.waitForNavigation(), p.click('form[action$="/dossiers/lot"] button[type=submit]')]); assert.ok(await p.locator('.errors').count(), 'error shown'); }],
    ['invitation d\'un administrateur par l\'opérateur', personas.operateur.context, async (p) => { await p.goto(`${base}/operateur/collectivites/macon`); await p.fill('#email', 'nouvel.admin@macon.example'); await Promise.all([p.waitForNavigation(), p.click('form[action$="/invitations"] button[type=submit]')]); assert.match(await p.locator('main').innerText(), /Invitation envoyée/); }],
    ['ajout d\'une collectivité refusé', personas.operateur.context, async (p) => { await p.goto(`${base}/operateur`); await p.fill('#code', '99999'); await Promise.all([p.waitForNavigation(), p.click('form[action="/operateur/collectivites"] button[type=submit]')]); assert.ok(await p.locator('.errors').count(), 'error shown'); }],
    ['observatoire : graphiques et leurs tableaux', anon, async (p) => { await p.goto(`${base}/observatoire/macon/demande-de-composteur-de-jardin`); assert.equal(await p.locator('figure svg[role=img]').count(), 2); for (const summary of await p.locator('figure details summary').all()) await summary.click(); assert.match(await p.locator('figure table').first().innerText(), /janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\./); assert.match(await p.locator('main').innerText(), /Satisfaction[\s\S]*\/ 10 \(\d{3} avis\)/); }],
    ['observatoire : collectivités comparées', anon, async (p) => { await p.goto(`${base}/observatoire/modeles/1`); assert.match(await p.locator('main').innerText(), /Mâcon/); }],
    ['avis sans note', usager, async (p) => { await p.goto(`${base}/dossiers/5`); await Promise.all([p.waitForNavigation(), p.click('form[action$="/satisfaction"] button[type=submit]')]); assert.match(await p.locator('#note-erreur').innerText(), /Choisissez une note/); }],
    ['conseil : membre sans nom ni adresse', agent, async (p) => { await p.goto(`${base}/admin/dijon/conseil`); await p.click('summary:has-text("Ajouter un membre")'); await Promise.all([p.waitForNavigation(), p.click('form[action$="/elus"] button[type=submit]')]); assert.match(await p.locator('.errors').innerText(), /nom de l.élu/); assert.equal(await p.locator('details[open] #elu-nom-1').count(), 1, 'the form stays open'); }],
    ['consultation : classement avec un rang deux fois', usager, async (p) => { await p.goto(`${base}/participation/dijon/consultations/1`); await p.check('#q0-1'); await p.fill('#q1_0', '1'); await p.fill('#q1_1', '1'); await p.fill('#q1_2', '2'); await Promise.all([p.waitForNavigation(), p.click('main form button[type=submit]')]); assert.match(await p.locator('.errors').innerText(), /même rang/); assert.equal(await p.locator('#q0-1').isChecked(), true, 'the choice stays'); }],
    ['conseil : page publique et délibération PDF/A', anon, async (p) => { await p.goto(`${base}/conseil/dijon`); assert.match(await p.locator('main').innerText(), /Budget supplémentaire 2026/); const href = await p.locator('a[href*="/deliberations/"]').first().getAttribute('href'); const r = await p.request.get(`${base}${href}`); assert.equal(r.headers()['content-type'], 'application/pdf'); }],
    ['conseil : procès-verbal sans texte', agent, async (p) => { await p.goto(`${base}/admin/dijon/conseil/seances/1`); await p.fill('#texte', ''); await Promise.all([p.waitForNavigation(), p.click('form[action$="/proces-verbal"] button[type=submit]')]); assert.match(await p.locator('#texte-erreur').innerText(), /Rédigez la teneur des débats/); }],
    ['audit d\'accessibilité avec erreurs', agent, async (p) => { await p.goto(`${base}/admin/dijon/observatoire`); await p.fill('#taux', '120'); await Promise.all([p.waitForNavigation(), p.click('form[action$="/accessibilite"] button[type=submit]')]); assert.ok(await p.locator('.errors').count(), 'error shown'); }],
    ['import de démarche invalide', agent, async (p) => { await p.goto(`${base}/admin/dijon/demarches`); await p.fill('#definition', '{"title": 1}'); await Promise.all([p.waitForNavigation(), p.click('form[action$="/demarches"] button[type=submit]')]); }],
  ];
  const failures = [];
  for (const [name, context, action] of states) {
    const m = await check(context, null, action);
    if (m.violations.length) failures.push(`${name}:\n    ${describe(m.violations)}`);
    if (m.overflow > 0) failures.push(`${name}: scrolls horizontally at 320 px`);
    measures.push({ who: 'état', route: name, landed: new URL(m.finalUrl).pathname, kind: 'état', ...m });
  }
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('axe catches a missing label and a poor contrast (the check can fail)', async () => {
  const page = await newPage(personas.anonymous.context);
  await page.goto(`${base}/connexion`);
  await page.evaluate(() => {
    document.querySelector('label[for=email]').remove();
    document.querySelector('main h1').style.color = '#bbbbbb';
  });
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), WCAG_TAGS);
  await page.close();
  const ids = result.violations.map((v) => v.id);
  assert.ok(ids.includes('label'), `missing label reported: ${ids}`);
  assert.ok(ids.includes('color-contrast'), `poor contrast reported: ${ids}`);
});

/// Presses Tab until the focused element matches, as a keyboard user would.
async function tabTo(page, selector, max = 40) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  throw new Error(`${selector} cannot be reached with the keyboard`);
}

async function signUpAndLogIn(context, email, { keyboard }) {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  if (keyboard) {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('href')), '#contenu', 'the skip link comes first');
    await tabTo(page, 'a[href="/inscription"]');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    await tabTo(page, '#nom');
    await page.keyboard.type('Dominique Clavier');
    await tabTo(page, '#email');
    await page.keyboard.type(email);
    await tabTo(page, '#mot_de_passe');
    await page.keyboard.type('une phrase tapée sans souris');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  } else {
    await page.goto(`${base}/inscription`);
    await page.fill('#nom', 'Dominique Sansjs');
    await page.fill('#email', email);
    await page.fill('#mot_de_passe', 'une phrase sans javascript');
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  }
  assert.match(await page.locator('h1').innerText(), /Confirmez votre adresse/);
  // Follow the link of the confirmation e-mail, from the demo's mailbox.
  await page.goto(`${base}/demo/courriels`);
  const mail = page.locator('li', { hasText: email }).first().locator('a');
  await Promise.all([page.waitForNavigation(), mail.click()]);
  const link = await page.locator('main a[href*="/inscription/confirmation/"]').getAttribute('href');
  await page.goto(link);
  assert.match(await page.locator('h1').innerText(), /Adresse confirmée/);
  await page.goto(`${base}/connexion`);
  const password = keyboard ? 'une phrase tapée sans souris' : 'une phrase sans javascript';
  if (keyboard) {
    await tabTo(page, '#email');
    await page.keyboard.type(email);
    await tabTo(page, '#mot_de_passe');
    await page.keyboard.type(password);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  } else {
    await page.fill('#email', email);
    await page.fill('#mot_de_passe', password);
    await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
  }
  assert.equal(new URL(page.url()).pathname, '/compte');
  assert.match(await page.locator('main').innerText(), /Mon compte/);
  await page.close();
}

test('sign-up, confirmation and login with the keyboard only', async () => {
  const context = await browser.newContext({ bypassCSP: true, locale: 'fr-FR' });
  await signUpAndLogIn(context, 'clavier@exemple.fr', { keyboard: true });
  await context.close();
});

test('sign-up, confirmation and login with JavaScript disabled', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  await signUpAndLogIn(context, 'sansjs@exemple.fr', { keyboard: false });
  await context.close();
});

after(() => {
  // The platform's measured accessibility, shown in the observatoire's grid (embedded at build).
  if (axeResult) writeFileSync(join(root, 'crates', 'web', 'src', 'pilotage', 'axe.json'), JSON.stringify({ ...axeResult, date: new Date().toISOString().slice(0, 10) }) + '\n');
  if (!measures.length) return;
  const rows = measures
    .sort((a, b) => (a.kind + a.who + a.landed).localeCompare(b.kind + b.who + b.landed))
    .map((m) => `| ${m.kind} | ${m.who} | \`${m.landed}\` | ${m.title.replace(/\|/g, '/')} | ${(m.bytes / 1024).toFixed(1)} | ${m.requests} | ${m.dom} | ${m.score.toFixed(0)} | ${grade(m.score)} |`);
  const doc = `# Sobriety of every page

Written by the browser suite (\`scripts/browser-tests\`, part of \`scripts/test\`); do not edit by hand.
Measured in Debian's Chromium (headless), cache disabled (every page as a first visit), against
\`guichet demo\`. Bytes are what crossed the network, compressed, headers included. EcoIndex from
DOM elements, requests and size with the reference quantiles of cnumr/ecoindex_reference
(score = 100 - 5 × (3·q_dom + 2·q_req + q_size) / 6; grade A above 80).

Budget: public pages at most ${BUDGET.bytes / 1000} KB and ${BUDGET.requests} requests and grade A;
back-office pages the same weight and requests, EcoIndex reported.

| kind | visitor | page | title | KB | requests | DOM elements | EcoIndex | grade |
| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |
${rows.join('\n')}
`;
  writeFileSync(join(root, 'docs', 'SOBRIETY.md'), doc);
});

/// Chooses a radio button with the keyboard: Tab reaches the group, arrows move within it.
async function keyboardRadio(page, selector) {
  const name = await page.locator(selector).getAttribute('name');
  await tabTo(page, `input[type=radio][name="${name}"]`);
  for (let i = 0; i < 12; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) {
      await page.keyboard.press('Space');
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`${selector} cannot be chosen with the keyboard`);
}

/// Files Dijon's terrasse démarche. With `keyboard`, only Tab, typing, Space and Enter are used.
async function fileTerrasse(context, { keyboard }) {
  const page = await context.newPage();
  const type = async (selector, text) => {
    if (keyboard) { await tabTo(page, selector); await page.keyboard.type(text); } else { await page.fill(selector, text); }
  };
  const pick = async (selector) => {
    if (!keyboard) { await page.check(selector); return; }
    if ((await page.locator(selector).getAttribute('type')) === 'radio') { await keyboardRadio(page, selector); return; }
    await tabTo(page, selector);
    await page.keyboard.press('Space');
  };
  const submit = async (selector) => {
    if (keyboard) { await tabTo(page, selector); await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]); } else { await Promise.all([page.waitForNavigation(), page.click(selector)]); }
  };
  await page.goto(`${base}/demarches/dijon/demande-d-autorisation-de-terrasse`);
  await submit('main form button[type=submit]');
  assert.match(page.url(), /\/etapes\/0$/);
  await type('#enseigne', 'Le Bistrot du Clavier');
  await type('#siret', '21210231300013');
  // A Kbis of today: well within its three months. With the keyboard, the date is typed in the
  // order the browser's date control shows (month first in some locales of Chromium).
  const now = new Date();
  const two = (n) => String(n).padStart(2, '0');
  const iso = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
  if (keyboard) {
    await tabTo(page, '#kbis');
    await page.keyboard.type(`${two(now.getDate())}${two(now.getMonth() + 1)}${now.getFullYear()}`);
    if (await page.inputValue('#kbis') !== iso) {
      // Month first: back from the year to the first part of the control, and again.
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.press('Shift+Tab');
      await page.keyboard.type(`${two(now.getMonth() + 1)}${two(now.getDate())}${now.getFullYear()}`);
    }
    assert.equal(await page.inputValue('#kbis'), iso);
  } else {
    await page.fill('#kbis', iso);
  }
  await type('#courriel', 'bistrot@exemple.fr');
  // Radio groups: the first Tab lands on the group; arrows choose within it (Space checks it).
  await pick('#chauffage-1');
  await submit('button[value=continuer]');
  assert.match(page.url(), /\/etapes\/1$/, `step 1 reached (${await page.locator('.errors').allInnerTexts()})`);
  await type('#zones-0--adresse', '1 place de la Libération, 21000 Dijon');
  await type('#zones-0--surface', '10');
  if (keyboard) {
    await tabTo(page, '#debut');
    await page.keyboard.type('15012030');
    await tabTo(page, '#fin');
    await page.keyboard.type('12122030');
  } else {
    await page.fill('#debut', '2030-01-15');
    await page.fill('#fin', '2030-12-12');
  }
  await pick('#engagement');
  await submit('button[value=continuer]');
  assert.match(page.url(), /\/recapitulatif$/, `review reached (${await page.locator('.errors').allInnerTexts()})`);
  await submit('form[action$="/depot"] button[type=submit]');
  assert.match(await page.locator('main').innerText(), /Accusé de réception/);
  const number = (await page.locator('h1').innerText()).replace('Dossier n° ', '');
  await page.close();
  return number;
}

/// An agent takes the dossier into instruction and accepts it.
async function processDossier(context, number, { keyboard }) {
  const page = await context.newPage();
  await page.goto(`${base}/admin/dijon/dossiers?q=${encodeURIComponent(number)}&file=tous`);
  const link = page.locator(`a:text-is("${number}")`);
  if (keyboard) {
    // The search leaves one dossier in the table.
    await tabTo(page, 'table a[href^="/admin/dijon/dossiers/"]');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  } else {
    await Promise.all([page.waitForNavigation(), link.click()]);
  }
  for (const action of ['instruire', 'accepter']) {
    if (keyboard) {
      await keyboardRadio(page, `#action-${action}`);
      await tabTo(page, 'form[action$="/action"] button[type=submit]');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    } else {
      await page.check(`#action-${action}`);
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/action"] button[type=submit]')]);
    }
  }
  assert.match(await page.locator('main').innerText(), /État : ?accepté|accepté/);
  await page.close();
}

test('file a dossier and process it with the keyboard only', async () => {
  const number = await fileTerrasse(personas.usager.context, { keyboard: true });
  await processDossier(personas.agent.context, number, { keyboard: true });
});

test('file a dossier and process it with JavaScript disabled', async () => {
  const usager = await browser.newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
  await login(usager, 'usager@demo.example');
  const number = await fileTerrasse(usager, { keyboard: false });
  await usager.close();
  await processDossier(personas.agent.context, number, { keyboard: false });
});

test('with JavaScript, a draft saves itself on every change and says when', async () => {
  const page = await personas.usager.context.newPage();
  await page.goto(`${base}/demarches/dijon/demande-d-autorisation-de-terrasse`);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  assert.match(page.url(), /\/etapes\/0$/);
  const step = page.url();
  await page.fill('#enseigne', 'Le Café Enregistré');
  await page.locator('#enseigne').blur();
  await page.locator('#autosave').filter({ hasText: /Brouillon enregistré à \d\d:\d\d/ }).waitFor({ timeout: 5000 });
  // Nothing was submitted by hand: another page (another device) finds the typed value.
  const other = await personas.usager.context.newPage();
  await other.goto(step);
  assert.equal(await other.inputValue('#enseigne'), 'Le Café Enregistré');
  await other.close();
  await page.close();
});

/// Reports a broken street light in Dijon. With `keyboard`, only Tab, typing, arrows and Enter.
async function reportLight(context, { keyboard }) {
  const page = await context.newPage();
  await page.goto(`${base}/signalements/nouveau`);
  const type = async (selector, text) => {
    if (keyboard) { await tabTo(page, selector); await page.keyboard.type(text); } else { await page.fill(selector, text); }
  };
  await type('#commune', 'Dijon');
  if (keyboard) {
    await tabTo(page, '#categorie');
    for (let i = 0; i < 12 && !(await page.locator('#categorie option:checked').innerText()).startsWith('Éclairage'); i++) {
      await page.keyboard.press('ArrowDown');
    }
  } else {
    await page.selectOption('#categorie', { label: 'Éclairage public en panne' });
  }
  assert.match(await page.locator('#categorie option:checked').innerText(), /Éclairage public/);
  await type('#adresse', 'Place Darcy, devant la fontaine');
  await type('#description', 'Le lampadaire ne s\'allume plus depuis lundi.');
  if (keyboard) {
    await tabTo(page, 'main form button[type=submit]');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  } else {
    await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  }
  assert.match(page.url(), /\/signalements\/S\d{4}-\d{6}$/, `report created (${await page.locator('.errors').allInnerTexts()})`);
  assert.match(await page.locator('h1').innerText(), /Éclairage public en panne — Dijon/);
  await page.close();
}

test('with JavaScript, the map is fetched only when asked for, picks the place and passes axe', async () => {
  const page = await newPage(personas.anonymous.context);
  const requested = [];
  page.on('request', (r) => requested.push(r.url()));
  await page.goto(`${base}/signalements/nouveau`, { waitUntil: 'load' });
  assert.ok(!requested.some((u) => u.includes('/static/leaflet')), 'the library is not loaded with the page');
  await page.click('button:has-text("Choisir le lieu sur une carte")');
  await page.waitForSelector('.carte.leaflet-container');
  assert.ok(requested.some((u) => u.includes('/static/leaflet')), 'loaded on demand');
  const box = await page.locator('.carte').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  assert.match(await page.inputValue('#latitude'), /^4\d,\d{6}$/);
  assert.match(await page.inputValue('#longitude'), /^\d,\d{6}$/);
  assert.match(await page.locator('.carte-zone [role=status]').innerText(), /Lieu choisi/);
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), WCAG_TAGS);
  assert.deepEqual(result.violations.map((v) => v.id), [], describe(result.violations));
  await page.close();

  // The public list draws its reports.
  const list = await newPage(personas.anonymous.context);
  await list.goto(`${base}/communes/21231/signalements`, { waitUntil: 'load' });
  await list.click('button:has-text("Voir les signalements sur une carte")');
  await list.waitForSelector('.carte .leaflet-interactive');
  assert.equal(await list.locator('.carte .leaflet-interactive').count(), await list.locator('tr[data-lat]').count());
  assert.match(await list.locator('.carte-zone [role=status]').innerText(), /\d+ signalement\(s\) sur la carte/);
  await list.close();
});

test('report a signalement with the keyboard only', async () => {
  await reportLight(personas.usager.context, { keyboard: true });
});

test('report a signalement with JavaScript disabled', async () => {
  const usager = await browser.newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
  await login(usager, 'usager@demo.example');
  await reportLight(usager, { keyboard: false });
  await usager.close();
});

/// Starts a dossier on Dijon's school catering and goes to the children's step.
async function cantineChildren(context) {
  const page = await newPage(context);
  await page.goto(`${base}/demarches/dijon/inscription-a-la-restauration-scolaire`);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  assert.match(page.url(), /\/etapes\/0$/);
  await page.goto(page.url().replace(/\/etapes\/0$/, '/etapes/1'));
  return page;
}

async function axeViolations(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), WCAG_TAGS);
  return result.violations;
}

test('with JavaScript, a field appears when its condition is met, is announced, and passes axe', async () => {
  const page = await cantineChildren(personas.usager.context);
  const precisions = page.locator('#enfants-0--precisions');
  const pai = page.locator('#enfants-0--pai');
  assert.equal(await precisions.isVisible(), false, 'hidden while no allergy is declared');
  assert.equal(await pai.isVisible(), false);
  let violations = await axeViolations(page);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await page.check('#enfants-0--allergie-0');
  await precisions.waitFor({ state: 'visible' });
  assert.equal(await pai.isVisible(), true);
  assert.match(await page.locator('#conditions-annonce').innerText(), /Nouvelle question : .*Précisez l'allergie/);
  assert.match(await page.locator('label[for="enfants-0--precisions"]').innerText(), /\(obligatoire\)/, 'revealed, it says it is required');
  // Revealed, the field no longer spells out its condition.
  assert.equal(await page.locator('#enfants-0--precisions-condition').isVisible(), false);
  violations = await axeViolations(page);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await page.check('#enfants-0--allergie-1');
  await precisions.waitFor({ state: 'hidden' });
  // With the keyboard: Tab from the allergy question skips the hidden field.
  await page.focus('#enfants-0--allergie-1');
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  assert.notEqual(focused, 'enfants-0--precisions');
  await page.close();
});

test('without JavaScript, a conditional field is shown with its condition spelled out', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, locale: 'fr-FR' });
  await login(context, 'usager@demo.example');
  const page = await cantineChildren(context);
  assert.equal(await page.locator('#enfants-0--precisions').isVisible(), true);
  assert.doesNotMatch(await page.locator('label[for="enfants-0--precisions"]').innerText(), /obligatoire/,
    'a field whose condition does not hold is not announced as required');
  assert.match(await page.locator('#enfants-0--precisions-condition').innerText(),
    /À remplir seulement si vous avez répondu « oui » à « Allergie ou régime médical \? »/);
  // axe needs scripts: the same state, in a browser whose conditions script does not load.
  const blocked = await cantineChildren(personas.usager.context);
  await blocked.route('**/static/conditions.*', (route) => route.abort());
  await blocked.reload();
  assert.equal(await blocked.locator('#enfants-0--precisions').isVisible(), true);
  const violations = await axeViolations(blocked);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await blocked.close();
  // Answering "non" and continuing does not ask for what does not apply.
  await page.fill('[name="enfants[0].prenom"]', 'Léa');
  await page.fill('[name="enfants[0].nom"]', 'Usager');
  await page.fill('[name="enfants[0].naissance"]', '2019-05-02');
  await page.check('[name="enfants[0].ecole"] >> nth=0');
  await page.check('[name="enfants[0].jours"] >> nth=0');
  await page.check('#enfants-0--allergie-1');
  await Promise.all([page.waitForNavigation(), page.click('button[value=continuer]')]);
  assert.match(page.url(), /\/etapes\/2$/, `next step reached (${await page.locator('.errors').allInnerTexts()})`);
  await page.close();
  await context.close();
});

test('without an account: the start form, its errors and the message pass axe', async () => {
  const page = await newPage(personas.anonymous.context);
  await page.goto(`${base}/demarches/dijon/demande-de-composteur-de-jardin`, { waitUntil: 'load' });
  assert.match(await page.locator('main').innerText(), /Commencer sans compte/);
  let violations = await axeViolations(page);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await page.fill('#nom', 'Paul Girard');
  await page.fill('#email', 'paul.girard@');
  await Promise.all([page.waitForNavigation(), page.click('main form button:has-text("Recevoir le lien")')]);
  assert.match(await page.locator('#email-erreur').innerText(), /adresse électronique valide/);
  violations = await axeViolations(page);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await page.fill('#email', 'paul.girard@exemple.fr');
  await Promise.all([page.waitForNavigation(), page.click('main form button:has-text("Recevoir le lien")')]);
  assert.match(await page.locator('main').innerText(), /Un lien pour commencer .* vient d'être envoyé à paul\.girard@exemple\.fr/);
  // The demo writes its mails where its page lists them: the link opens the draft.
  const mails = await newPage(personas.anonymous.context);
  let link = null;
  for (let i = 0; i < 50 && !link; i++) {
    await mails.goto(`${base}/demo/courriels`);
    const row = mails.locator('li:has-text("à paul.girard@exemple.fr") a').first();
    if (await row.count()) {
      await mails.goto(`${base}${await row.getAttribute('href')}`);
      link = /\/dossiers\/invitation\/[A-Za-z0-9_-]+/.exec(await mails.content());
    } else {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await mails.close();
  assert.ok(link, 'the mail with the link was sent');
  await page.goto(`${base}${link[0]}`);
  assert.match(page.url(), /\/dossiers\/\d+\/etapes\/0$/);
  violations = await axeViolations(page);
  assert.deepEqual(violations.map((v) => v.id), [], describe(violations));
  await page.close();
});
