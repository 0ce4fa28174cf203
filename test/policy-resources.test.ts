import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkConfig, type Config } from '../lib/config/index.js';
import { GatekitError } from '../lib/errors.js';
import { normaliseUri } from '../lib/mcp/index.js';
import { explain, judgeResource, evaluate, mayListTemplate, parseCases, runCases } from '../lib/policy/index.js';

const FILE = '/etc/gatekit/gatekit.toml';

function config(fs: Record<string, unknown>): Config {
  return checkConfig(FILE, {
    broker: { signing_key: '/nonexistent/broker.jwk' },
    servers: { fs: { command: ['true'], allow_groups: ['eng', 'ops'], ...fs } },
  });
}

const FS = config({
  resources: { allow: ['file:///srv/shared/**', 'demo://resource/static/*'], deny: ['file:///srv/shared/secret/**'] },
  prompts: { allow: ['summarize', 'review_*'], deny: ['review_secret'] },
  grant: [
    { groups: ['ops'], resources: { allow: ['file:///var/log/**'], deny: ['file:///var/log/auth*'] } },
    { groups: ['ops'], prompts: { allow: ['deploy'] } },
  ],
  rule: [
    { resources: ['file:///srv/shared/big/**'], args: { path: { path_under: ['/srv/shared/big/ok'] } } },
    { prompts: ['summarize'], args: { style: { enum: ['short', 'long'] } } },
  ],
});

const ask = (who: 'eng' | 'ops', q: { uri?: string; prompt?: string; args?: unknown }) =>
  explain(FS, { user: `${who}@example.com`, groups: [who], server: 'fs', ...q });

describe('resource URIs are judged in their normal form', () => {
  const table: Array<[string, string | undefined]> = [
    ['file:///srv/shared/a.txt', undefined],
    ['FILE:///srv/shared/a.txt', undefined],
    ['file:///srv/./shared//a.txt', undefined],
    ['file:///srv/%73hared/a.txt', undefined],
    ['file:///srv/shared/../secret', 'servers.fs.resources'],
    ['file:///srv/shared/%2e%2e/etc/passwd', 'servers.fs.resources'],
    ['file:///srv/shared/%2E%2E/etc/passwd', 'servers.fs.resources'],
    ['file:///srv/shared%2F..%2Fetc/passwd', 'servers.fs.resources'],
    ['file:///srv/shared/a%5C..%5Cb', 'servers.fs.resources'],
    ['file:///srv/shared/%252e%252e/x', 'servers.fs.resources'],
    ['file:///srv/shared/a%00', 'servers.fs.resources'],
    ['file:///srv/shared/a%zz', 'servers.fs.resources'],
    ['file:///srv/shared/a%ff', 'servers.fs.resources'],
    ['file:///srv/shared/a b', 'servers.fs.resources'],
    ['file:///srv/shared\\..\\x', 'servers.fs.resources'],
    ['/srv/shared/a', 'servers.fs.resources'],
    ['file:///srv/shared/a?/../../../etc/passwd', 'servers.fs.resources'],
    ['file:///srv/shared/a#/../../x', 'servers.fs.resources'],
    ['file:///srv/shared/a?p=%2F..%2Fetc', 'servers.fs.resources'],
    ['file:///srv/shared/a?p=1&q=2#top', undefined],
    ['file:///srv/shared/secret/k', 'servers.fs.resources.deny'],
    ['file:///srv/shared//secret/k', 'servers.fs.resources.deny'],
    ['file:///srv/shared/./secret/k', 'servers.fs.resources.deny'],
    ['file:///srv/shared/%73ecret/k', 'servers.fs.resources.deny'],
    ['FiLe:///srv/shared/secret/k', 'servers.fs.resources.deny'],
    ['file:///srv/shared2/a', 'servers.fs.resources.allow'],
    ['file:///etc/passwd', 'servers.fs.resources.allow'],
    ['DEMO://Resource/static/x', undefined],
    ['demo://resource/static/x/y', 'servers.fs.resources.allow'],
    ['demo://RESOURCE/static/x', undefined],
    ['file:///var/log/syslog', 'servers.fs.resources.allow'],
  ];
  for (const [uri, rule] of table) {
    it(`eng: ${uri} → ${rule ?? 'allowed'}`, () => {
      const answer = ask('eng', { uri });
      assert.equal(answer.decision, rule ? 'deny' : 'allow', answer.reason);
      if (rule) assert.equal(answer.rule, rule);
    });
  }

  it('a grant adds resources, and its deny names the grant', () => {
    assert.equal(ask('ops', { uri: 'file:///var/log/syslog' }).decision, 'allow');
    assert.equal(ask('ops', { uri: 'file:///var/log/auth.log' }).rule, 'servers.fs.grant[0].resources.deny');
  });

  it('a [[rule]] on resources checks the path of a file: URI', () => {
    assert.equal(ask('eng', { uri: 'file:///srv/shared/big/ok/x' }).decision, 'allow');
    assert.equal(ask('eng', { uri: 'file:///srv/shared/big/no' }).rule, 'servers.fs.rule[0].args.path.path_under');
  });

  it('the normal form never keeps a ".." segment, an escaped separator or a control character (property)', () => {
    const pieces = fc.constantFrom(
      'a',
      '.',
      '..',
      '%2e',
      '%2E',
      '%2f',
      '%5c',
      '%25',
      '%41',
      '/',
      '//',
      '%00',
      '%0a',
      '?',
      '#',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
        const n = normaliseUri(`file:///srv/${parts.join('')}`);
        if ('why' in n) return;
        const path = n.uri.slice('file://'.length);
        assert.ok(!path.split('/').includes('..'), n.uri);
        assert.ok(!/%(2f|5c|2e|25|00)/i.test(path), n.uri);
        assert.ok(!/[\0-\x1f]/.test(path), n.uri);
        // Idempotent: the normal form is its own normal form.
        assert.deepEqual(normaliseUri(n.uri), n);
      }),
    );
  });
});

describe('prompts under policy', () => {
  it('allow, deny, a grant, and a [[rule]] on prompt arguments', () => {
    assert.equal(ask('eng', { prompt: 'review_code' }).decision, 'allow');
    assert.equal(ask('eng', { prompt: 'review_secret' }).rule, 'servers.fs.prompts.deny');
    assert.equal(ask('eng', { prompt: 'deploy' }).rule, 'servers.fs.prompts.allow');
    assert.equal(ask('ops', { prompt: 'deploy' }).decision, 'allow');
    assert.equal(ask('eng', { prompt: 'summarize', args: { style: 'short' } }).decision, 'allow');
    assert.equal(ask('eng', { prompt: 'summarize', args: { style: 'x' } }).rule, 'servers.fs.rule[1].args.style.enum');
  });
});

describe('resource templates are listed by their literal start', () => {
  const admitted = (who: string) => {
    const d = evaluate({ user: `${who}@example.com`, groups: [who] }, FS.servers.get('fs')!);
    assert.ok(d.allowed);
    return d;
  };
  const table: Array<[string, boolean]> = [
    ['file:///srv/shared/{name}', true],
    ['file:///srv/{dir}/x', true],
    ['file:///srv/shared/secret/{name}', false],
    ['file:///etc/{name}', false],
    ['demo://resource/static/{id}', true],
    ['demo://resource/dynamic/{id}', false],
    ['{+uri}', true],
    ['file:///srv/shared/%2e%2e/{x}', false],
  ];
  for (const [template, shown] of table) {
    it(`${template} → ${shown ? 'listed' : 'hidden'}`, () => {
      assert.equal(mayListTemplate(template, admitted('eng')), shown);
    });
  }
  it('with no resource policy every template is listed and every URI allowed as written', () => {
    const open = config({}).servers.get('fs')!;
    const d = evaluate({ user: 'e', groups: ['eng'] }, open);
    assert.ok(d.allowed);
    assert.equal(open.resources, undefined);
    assert.equal(open.prompts, undefined);
    assert.equal(mayListTemplate('x://{y}', d), true);
    assert.deepEqual(judgeResource('file:///srv/%2e%2e/x', d, open), { uri: 'file:///srv/%2e%2e/x' });
  });
});

describe('resource and prompt config', () => {
  const fails = (fs: Record<string, unknown>, key: RegExp) =>
    assert.throws(
      () => config(fs),
      (e: unknown) =>
        e instanceof GatekitError && e.code === 'CONFIG_INVALID' && key.test(e.message) && e.message.includes(FILE),
    );
  it('a glob no URI could match, an unknown key or a wrong type names the file and key', () => {
    fails({ resources: { allow: ['file:///srv/../etc/**'] } }, /"servers\.fs\.resources\.allow"/);
    fails({ resources: { allow: ['file:///srv/%2F/**'] } }, /"servers\.fs\.resources\.allow"/);
    fails({ resources: { allow: ['srv/shared/**'] } }, /"servers\.fs\.resources\.allow"/);
    fails({ resources: { allow: 'file:///x' } }, /"servers\.fs\.resources\.allow"/);
    fails({ resources: { alow: ['file:///x'] } }, /"servers\.fs\.resources\.alow"/);
    fails({ prompts: { deny: [1] } }, /"servers\.fs\.prompts\.deny"/);
    fails(
      { grant: [{ groups: ['ops'], resources: { allow: ['nope'] } }] },
      /"servers\.fs\.grant\[0\]\.resources\.allow"/,
    );
    fails({ rule: [{ resources: ['file:///a/../b'], fresh_login: '5m' }] }, /"servers\.fs\.rule\[0\]\.resources"/);
  });
  it('globs are kept in the normal form; a grant or rule alone puts resources under policy', () => {
    const s = config({ resources: { allow: ['FILE:///Srv/./x/**'] } }).servers.get('fs')!;
    assert.deepEqual(s.resources, { allow: ['file:///Srv/x/**'], deny: [] });
    const g = config({ grant: [{ groups: ['ops'], resources: { deny: ['file:///x/**'] } }] }).servers.get('fs')!;
    assert.deepEqual(g.resources, { allow: ['**'], deny: [] });
    assert.deepEqual(g.grants[0]!.tools, { allow: [], deny: [] }, 'a resources-only grant adds no tools');
  });
  it('policy test cases take uri and prompt', () => {
    const cases = parseCases('cases.toml', {
      case: [
        {
          user: 'e',
          groups: ['eng'],
          server: 'fs',
          uri: 'file:///srv/shared/%2e%2e/x',
          expect: 'deny',
          rule: 'servers.fs.resources',
        },
        {
          user: 'e',
          groups: ['eng'],
          server: 'fs',
          prompt: 'deploy',
          expect: 'deny',
          rule: 'servers.fs.prompts.allow',
        },
      ],
    });
    assert.deepEqual(
      runCases(FS, cases).map((r) => r.ok),
      [true, true],
    );
    assert.throws(
      () => parseCases('c.toml', { case: [{ user: 'e', server: 'fs', uri: 'x:', prompt: 'y', expect: 'deny' }] }),
      (e: unknown) => e instanceof GatekitError && e.code === 'USAGE',
    );
  });
});
