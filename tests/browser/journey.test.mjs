// A first day, from an empty platform, in Debian's Chromium with the browser's defaults
// (compression, cookies, the back button, a session that expires): the operator onboards a
// collectivité and its first admin; the admin publishes a démarche; a signed-out resident finds it
// from the home page with their commune, presses "Commencer", signs up, confirms their address,
// comes back and files it; the agent downloads the CSV and XLSX exports (parsed here) and decides;
// the resident downloads the decision letter. Also: reporting a problem from the home page, and
// following a counter dossier with its code typed in lower case with spaces.
//
// Runs `guichet serve` on a fresh data directory (no demo data), on SQLite or, when
// JOURNEY_DATABASE_URL is set, on that PostgreSQL database (scripts/browser-tests runs both).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.env.GUICHET_BIN || join(root, 'target', 'debug', 'guichet');
const databaseUrl = process.env.JOURNEY_DATABASE_URL || '';
const axeSource = readFileSync(join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const PASSWORD = 'une longue phrase de passe du premier jour';

const CANTINE = JSON.stringify({
  title: 'Inscription à la cantine scolaire',
  description: 'Inscrire vos enfants au restaurant scolaire de la commune.',
  competence: 'restauration_scolaire',
  deadline_days: 30,
  tacit_rule: 'accord',
  retention_months: 24,
  pages: [{
    title: 'Vos enfants',
    fields: [
      { id: 'regime', label: 'Régime alimentaire', type: 'single_choice', options: ['standard', 'sans viande'], required: true },
      { id: 'enfants', label: 'Enfants', type: 'block', item_label: 'Enfant', min: 1, max: 4, fields: [
        { id: 'prenom', label: 'Prénom', type: 'short_text', required: true },
      ] },
    ],
  }],
}, null, 2);

let server, base, browser, dataDir, env;

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

function cli(...args) {
  const data = ['--data-dir', dataDir, ...(databaseUrl ? ['--database-url', databaseUrl] : [])];
  return execFileSync(bin, [...args, ...data], { encoding: 'utf8', env });
}

/// RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app computes it.
function totp(secretBase32, offsetSteps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secretBase32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

/// The last e-mail "sent" to `to` whose subject contains `subject` (the server writes them to
/// data_dir/courriels when no SMTP relay is configured).
async function mailTo(to, subject) {
  const dir = join(dataDir, 'courriels');
  for (let i = 0; i < 100; i++) {
    if (existsSync(dir)) {
      const mails = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
        .filter((m) => m.to === to && m.subject.includes(subject));
      if (mails.length) return mails[mails.length - 1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no e-mail "${subject}" to ${to}`);
}

function linkIn(mail) {
  const m = mail.body.match(/https?:\/\/\S+/);
  assert.ok(m, `a link in ${mail.body}`);
  return m[0];
}

async function axe(page, what) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async (tags) => axe.run(document, { runOnly: { type: 'tag', values: tags } }), WCAG_TAGS);
  assert.deepEqual(result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${what} passes axe`);
}

async function submit(page, selector = 'main form button[type=submit]') {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

/// Accepts an invitation, enrols the second factor, and keeps the secret for later sign-ins.
async function acceptInvitation(page, link, name) {
  await page.goto(link);
  assert.match(await page.locator('h1').innerText(), /Rejoindre l'équipe/);
  await page.fill('#nom', name);
  await page.fill('#mot_de_passe', PASSWORD);
  await submit(page);
  assert.equal(new URL(page.url()).pathname, '/compte/securite');
  const secret = (await page.locator('code.secret').innerText()).replace(/\s/g, '');
  await page.fill('#code', totp(secret));
  await submit(page);
  assert.match(await page.locator('main').innerText(), /codes de secours/);
  return secret;
}

before(async () => {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'guichet-journey-'));
  base = `http://127.0.0.1:${port}`;
  env = {
    ...process.env,
    GUICHET_DATABASE_URL: databaseUrl,
    GUICHET_PUBLIC_URL: base,
    RUST_LOG: 'warn',
    // Maps from the server itself (they 404 quickly): no request leaves the machine.
    GUICHET_MAP_TILE_URL: `${base}/tuiles/{z}/{x}/{y}.png`,
  };
  // The platform's first command, on an empty database: the région that operates it.
  cli('tenant', 'add', '--region', '27', '--operator');
  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'], env });
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
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

test(`a first day from an empty platform (${databaseUrl ? 'PostgreSQL' : 'SQLite'})`, async () => {
  // ---- The operator: invited from the command line, onboards Dijon and invites its admin. ----
  const out = cli('tenant', 'invite', '--tenant', 'bourgogne-franche-comte', '--email', 'dsi@region.example');
  const operatorLink = out.match(/https?:\/\/\S+\/invitation\/\S+/)[0];
  const operatorContext = await browser.newContext({ locale: 'fr-FR', bypassCSP: true });
  const op = await operatorContext.newPage();
  await acceptInvitation(op, operatorLink, 'Dominique Région');
  await op.goto(`${base}/operateur`);
  await op.selectOption('#niveau', 'commune');
  await op.fill('#code', '21231');
  await submit(op, 'form[action="/operateur/collectivites"] button[type=submit]');
  assert.equal(new URL(op.url()).pathname, '/operateur/collectivites/dijon');
  assert.match(await op.locator('main').innerText(), /pas encore d'administrateur/);
  await op.fill('#email', 'secretariat@dijon.example');
  await submit(op, 'form[action$="/invitations"] button[type=submit]');
  assert.match(await op.locator('[role=status]').innerText(), /Invitation envoyée à secretariat@dijon.example/);
  await axe(op, "the operator's page of a collectivité");

  // ---- The admin of Dijon: enrols, gives themselves the instructeur role, publishes. ----
  const adminContext = await browser.newContext({ locale: 'fr-FR', bypassCSP: true });
  const admin = await adminContext.newPage();
  const adminSecret = await acceptInvitation(admin, linkIn(await mailTo('secretariat@dijon.example', 'Invitation')), 'Camille Secrétaire');
  await admin.goto(`${base}/admin/dijon/equipe`);
  await submit(admin, 'form[action$="/equipe/roles"]:has(input[name=role][value=instructeur]) button');
  // A role change closes the agent's sessions: sign in again, with the next code of the app.
  await admin.goto(`${base}/admin/dijon/demarches`);
  assert.match(new URL(admin.url()).pathname, /^\/connexion/);
  await admin.fill('#email', 'secretariat@dijon.example');
  await admin.fill('#mot_de_passe', PASSWORD);
  await submit(admin);
  await admin.fill('#code', totp(adminSecret, 1));
  await submit(admin);
  assert.equal(new URL(admin.url()).pathname, '/admin/dijon/demarches', 'back where the agent was going');
  await admin.fill('#definition', CANTINE);
  await submit(admin, 'form[action$="/demarches"] button[type=submit]');
  await submit(admin, 'form[action$="/publication"] button[type=submit]');
  assert.match(await admin.locator('main').innerText(), /publiée/);

  // ---- A resident, signed out, from the home page with their commune. ----
  const residentContext = await browser.newContext({ locale: 'fr-FR', bypassCSP: true });
  const resident = await residentContext.newPage();
  // What crossed the network for each page: asked compressed, sent compressed.
  const exchanges = [];
  resident.on('response', (r) => {
    if (r.request().resourceType() === 'document') {
      exchanges.push(Promise.all([r.request().allHeaders(), r.allHeaders()]).then(([q, a]) => [q['accept-encoding'] || '', a['content-encoding'] || '']));
    }
  });
  await resident.goto(`${base}/`);
  await resident.fill('#q', 'cantine');
  await resident.fill('#commune', 'Dijon');
  await submit(resident, 'form[role=search] button[type=submit]');
  await submit(resident, 'a:has-text("Inscription à la cantine scolaire")');
  const demarchePath = new URL(resident.url()).pathname;
  await submit(resident, 'main form button[type=submit]:has-text("Commencer")');
  assert.equal(new URL(resident.url()).pathname, '/connexion', 'asked to sign in, not a 405');
  await submit(resident, 'main a:has-text("Créer un compte")');
  await resident.fill('#nom', 'Alex Habitant');
  await resident.fill('#email', 'alex@exemple.fr');
  await resident.fill('#mot_de_passe', PASSWORD);
  await submit(resident);
  assert.match(await resident.locator('h1').innerText(), /Confirmez votre adresse/);
  await resident.goto(linkIn(await mailTo('alex@exemple.fr', 'Confirmez')));
  assert.match(await resident.locator('h1').innerText(), /Adresse confirmée/);
  await submit(resident, 'main a:has-text("Se connecter")');
  await resident.fill('#email', 'alex@exemple.fr');
  await resident.fill('#mot_de_passe', PASSWORD);
  await submit(resident);
  assert.equal(new URL(resident.url()).pathname, demarchePath, 'back at the démarche');
  await submit(resident, 'main form button[type=submit]:has-text("Commencer")');
  assert.match(resident.url(), /\/dossiers\/\d+\/etapes\/0$/);

  // The radio sits beside its label at 1280 px and at 320 px.
  for (const width of [1280, 320]) {
    await resident.setViewportSize({ width, height: 800 });
    const gap = await resident.evaluate(() => {
      const radio = document.querySelector('input[type=radio][value=standard]');
      const label = document.querySelector(`label[for="${radio.id}"]`);
      const r = radio.getBoundingClientRect();
      const l = label.getBoundingClientRect();
      return { gap: l.left - r.right, sameLine: Math.abs((r.top + r.bottom) / 2 - (l.top + l.bottom) / 2) < l.height };
    });
    assert.ok(gap.gap >= 0 && gap.gap <= 16 && gap.sameLine, `at ${width} px the radio is beside its label (${JSON.stringify(gap)})`);
  }
  await resident.setViewportSize({ width: 1280, height: 800 });

  // An error names the field and the repetition, and links to it.
  await submit(resident, 'button[value="ajouter:enfants"]');
  await resident.fill('[name="enfants[0].prenom"]', 'Léa');
  await submit(resident, 'button[value=continuer]');
  const summary = await resident.locator('.errors').innerText();
  assert.match(summary, /Régime alimentaire : /);
  assert.match(summary, /Enfant 2 — Prénom : /);
  await axe(resident, 'a step with errors');
  await resident.check('input[type=radio][value=standard]');
  await resident.fill('[name="enfants[1].prenom"]', 'Noé');
  await submit(resident, 'button[value=continuer]');
  assert.match(resident.url(), /recapitulatif$/);

  // The session expires before the deposit: sign in again, and the recap comes back.
  await residentContext.clearCookies({ name: 'guichet_session' });
  await resident.reload();
  assert.equal(new URL(resident.url()).pathname, '/connexion');
  await resident.fill('#email', 'alex@exemple.fr');
  await resident.fill('#mot_de_passe', PASSWORD);
  await submit(resident);
  assert.match(resident.url(), /recapitulatif$/);
  await submit(resident, 'main form button[type=submit]:has-text("Déposer")');
  assert.match(await resident.locator('[role=status]').innerText(), /envoyé par courriel/);
  const dossierUrl = resident.url().replace(/\?.*$/, '');
  // The back button does not deposit again nor break: the dossier says it is deposited.
  await resident.goBack();
  await resident.reload();
  assert.doesNotMatch(await resident.locator('main').innerText(), /erreur/i);
  await mailTo('alex@exemple.fr', 'Accusé de réception');
  // (A page the back button restores from the browser's cache sends no request headers.)
  const seen = (await Promise.all(exchanges)).filter(([asked]) => asked);
  assert.ok(seen.length > 5 && seen.every(([asked]) => /gzip/.test(asked) && /br/.test(asked)), `the browser asked for compression: ${JSON.stringify(seen)}`);
  assert.ok(seen.some(([, sent]) => sent === 'br' || sent === 'gzip'), `pages came compressed: ${JSON.stringify(seen)}`);

  // ---- The agent: the exports, parsed, then the decision. ----
  await admin.goto(`${base}/admin/dijon/dossiers?file=tous`);
  await axe(admin, 'the queue');
  const [csvDownload] = await Promise.all([admin.waitForEvent('download'), admin.click('a:has-text("CSV")')]);
  const csvRows = parseCsv(readFileSync(await csvDownload.path(), 'utf8'), { delimiter: ';', columns: true });
  assert.equal(csvRows.length, 1, 'one dossier in the CSV');
  assert.match(csvRows[0].reponses, /Léa/);
  assert.match(csvRows[0].reponses, /Noé/);
  const [xlsxDownload] = await Promise.all([admin.waitForEvent('download'), admin.click('a:has-text("Excel")')]);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(await xlsxDownload.path());
  const sheet = workbook.getWorksheet('Dossiers');
  assert.equal(sheet.rowCount, 2, 'a header and one dossier in the XLSX');
  assert.equal(sheet.getRow(2).getCell(1).text, csvRows[0].numero);
  assert.match(sheet.getRow(2).getCell(12).text, /Noé/);

  await submit(admin, `a:has-text("${csvRows[0].numero}")`);
  await admin.check('#action-instruire');
  await submit(admin, 'form[action$="/action"] button[type=submit]');
  await admin.check('#action-accepter');
  await admin.fill('#motif', 'Repas servis à partir du 4 janvier.');
  await submit(admin, 'form[action$="/action"] button[type=submit]');
  assert.match(await admin.locator('[role=status]').innerText(), /accepté/);
  await axe(admin, "the agent's dossier page");

  // ---- The resident downloads the decision letter. ----
  await resident.goto(dossierUrl);
  assert.match(await resident.locator('main').innerText(), /Conditions : Repas servis/);
  const letter = await resident.request.get(`${base}${await resident.locator('a:has-text("lettre de décision")').getAttribute('href')}`);
  assert.equal(letter.status(), 200);
  assert.equal(letter.headers()['content-type'], 'application/pdf');
  assert.equal((await letter.body()).subarray(0, 5).toString(), '%PDF-');

  // ---- Reporting a problem from the home page, signed out. ----
  const passerby = await (await browser.newContext({ locale: 'fr-FR', bypassCSP: true })).newPage();
  await passerby.goto(`${base}/`);
  await submit(passerby, 'main a:has-text("Signaler un problème")');
  await passerby.fill('#commune', 'Dijon');
  await passerby.selectOption('#categorie', { label: 'Éclairage public en panne' });
  await passerby.fill('#adresse', 'Place de la Libération');
  await passerby.fill('#description', 'Le lampadaire devant le numéro 3 ne s\'allume plus.');
  await passerby.fill('#email', 'passant@exemple.fr');
  await submit(passerby);
  assert.match(await passerby.locator('main').innerText(), /courriel/i);
  await mailTo('passant@exemple.fr', 'signalement');

  // ---- A dossier filed at the counter, followed with its code typed as people type it. ----
  await admin.goto(`${base}/admin/dijon/guichet`);
  const choice = await admin.locator('#demarche option', { hasText: 'cantine' }).getAttribute('value');
  await admin.selectOption('#demarche', choice);
  await admin.fill('#prenom', 'Paul');
  await admin.fill('#nom', 'Guichet');
  await submit(admin);
  await admin.check('input[type=radio][value=standard]');
  await admin.fill('[name="enfants[0].prenom"]', 'Zoé');
  await submit(admin, 'button[value=continuer]');
  await submit(admin, 'main form button[type=submit]:has-text("Déposer")');
  assert.doesNotMatch(await admin.locator('[role=status]').innerText(), /envoyé par courriel/);
  const code = await admin.locator('#guichet + p strong').innerText();
  assert.match(code, /^[A-HJKMNP-Z2-9]{4} [A-HJKMNP-Z2-9]{4} [A-HJKMNP-Z2-9]{2}$/, `an unambiguous code: ${code}`);
  const follower = await (await browser.newContext({ locale: 'fr-FR', bypassCSP: true })).newPage();
  await follower.goto(`${base}/`);
  await submit(follower, 'main a:has-text("Suivre un dossier")');
  await follower.fill('#code', ` ${code.toLowerCase()} `);
  await follower.fill('#nom', 'guichet');
  await submit(follower);
  assert.match(await follower.locator('main').innerText(), /Dossier n° \d{4}-\d{7}/);
  await axe(follower, 'a dossier followed with its code');
});
