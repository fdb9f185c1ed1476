// A real OpenID Connect provider (npm oidc-provider) set up like FranceConnect v2, for Guichet's
// test suite: discovery, authorization code flow without PKCE, client_secret_post, acr_values
// eidas1..3, FranceConnect's identity claims, ID token signed ES256, userinfo as a JWT signed
// RS256, RP-initiated logout; with OIDC_ENCRYPTION (RSA-OAEP or ECDH-ES), set up like
// FranceConnect+: the ID token and userinfo are then also encrypted (A256GCM) to the client's keys,
// read from the client's JWKS at OIDC_CLIENT_JWKS_URI. The person logs in without typing anything: the interaction is
// completed by this script (which is what a test needs), everything else is the provider's own.
//
//   OIDC_PORT=4000 OIDC_CLIENT_ID=guichet OIDC_CLIENT_SECRET=… OIDC_REDIRECT_URIS=a,b \
//   OIDC_POST_LOGOUT_REDIRECT_URIS=c [OIDC_ENCRYPTION=ECDH-ES OIDC_CLIENT_JWKS_URI=d] \
//   node provider.mjs
//
// Test controls (GET /__test/mode?…): account=<sub> picks who logs in; acr=eidas1 forces the
// level returned; tamper=1 alters the ID token's payload on its way out of the token endpoint
// (its signature no longer matches; an encrypted one has a byte of its ciphertext changed), as an
// attacker in the middle would; deny=1 makes the person
// refuse (the provider then calls back with error=access_denied).
import Provider from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const list = (v) => (v || '').split(',').filter(Boolean);
const encryption = process.env.OIDC_ENCRYPTION;
const encrypted = encryption ? {
  jwks_uri: process.env.OIDC_CLIENT_JWKS_URI,
  id_token_encrypted_response_alg: encryption,
  id_token_encrypted_response_enc: 'A256GCM',
  userinfo_encrypted_response_alg: encryption,
  userinfo_encrypted_response_enc: 'A256GCM',
} : {};

function key(type, options, kid, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg, use: 'sig' };
}

const PEOPLE = {
  'fc-camille': {
    given_name: 'Camille Marie', family_name: 'Dupont', birthdate: '1985-04-12', birthplace: '21231',
    birthcountry: '99100', gender: 'female', email: 'camille.dupont@exemple.fr', preferred_username: 'Martin',
  },
  'fc-jean': {
    given_name: 'Jean', family_name: 'Moreau', birthdate: '1950-11-02', birthplace: '71270',
    birthcountry: '99100', gender: 'male', email: 'jean.moreau@exemple.fr', preferred_username: '',
  },
};
const mode = { account: 'fc-camille', acr: null, tamper: false, deny: false };

const CLAIMS = ['given_name', 'family_name', 'birthdate', 'birthplace', 'birthcountry', 'gender', 'email', 'preferred_username'];
const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: list(process.env.OIDC_REDIRECT_URIS),
    post_logout_redirect_uris: list(process.env.OIDC_POST_LOGOUT_REDIRECT_URIS),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'ES256',
    userinfo_signed_response_alg: 'RS256',
    ...encrypted,
  }],
  jwks: { keys: [key('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256'), key('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256')] },
  acrValues: ['eidas1', 'eidas2', 'eidas3'],
  scopes: ['openid', ...CLAIMS],
  claims: Object.fromEntries([['openid', ['sub']], ...CLAIMS.map((c) => [c, [c]])]),
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    encryption: { enabled: Boolean(encryption) },
  },
  pkce: { required: () => false },
  // The provider refuses to fetch special-use addresses (loopback included); in the test Guichet
  // is on loopback, so that protection is lifted for Guichet's JWKS, and for nothing else.
  fetch: (url, options) => {
    if (encrypted.jwks_uri && String(url) === encrypted.jwks_uri) delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  cookies: { keys: ['test-only-not-a-secret'] },
  findAccount: async (ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, ...PEOPLE[sub] }),
  }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/mode') {
    const q = ctx.query;
    if (q.account) mode.account = q.account;
    if ('acr' in q) mode.acr = q.acr || null;
    if ('tamper' in q) mode.tamper = q.tamper === '1';
    if ('deny' in q) mode.deny = q.deny === '1';
    ctx.body = mode;
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const { prompt, params } = details;
    let result;
    if (mode.deny) {
      result = { error: 'access_denied', error_description: "L'usager a refusé la connexion" };
    } else if (prompt.name === 'login') {
      const asked = String(params.acr_values || 'eidas1').split(' ')[0];
      result = { login: { accountId: mode.account, acr: mode.acr || asked, amr: ['pwd'] } };
    } else {
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.redirect(to);
    return;
  }
  await next();
  if (mode.tamper && ctx.path === '/token' && ctx.body && ctx.body.id_token) {
    const parts = ctx.body.id_token.split('.');
    if (parts.length === 5) {
      const c = parts[3];
      parts[3] = (c[0] === 'A' ? 'B' : 'A') + c.slice(1);
      ctx.body = { ...ctx.body, id_token: parts.join('.') };
      return;
    }
    const [h, p, s] = parts;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = 'fc-someone-else';
    ctx.body = { ...ctx.body, id_token: [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.') };
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
