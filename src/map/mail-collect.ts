/**
 * The observables of one mail alert as they are collected (contract §5): a mail's sender and
 * subject, the indicators of its text and HTML links (an advisory's listed indicators as IoCs,
 * its reference links set aside for the description), its attachments' hashes and names, and a
 * reported phish's transport headers (mail-phish.ts); mails forwarded in it recursively. Pure.
 */
import type { ParsedMail } from '../parse/email.js';
import { htmlLinks } from '../parse/mail-text.js';
import { extractIocs, type Iocs } from './ioc.js';
import { ipScope, urlHost } from './indicator-syntax.js';
import { ignoreMatcher, underDomains, type MailPolicy } from './mail-policy.js';
import { sectionsOf } from './mail-sections.js';
import { scannedText } from './mail-knobs.js';
import { phishHeaderIndicators } from './mail-phish.js';
import { ObservableSet } from './observables.js';

/**
 * Observables of one mail and, recursively, of the mails forwarded in it (tag `forwarded`):
 * sender (`mail`, tag `sender`) and subject (`mail-subject`) when `withHeaders`, the indicators of
 * the text and of the HTML's links, each attachment's sha256 and md5 (`hash`, tag
 * `attachment:<name>`) and name (`filename`). The top mail's own recipients are never observables.
 */
export function addMail(c: Collect, mail: ParsedMail, tags: readonly string[], withHeaders: boolean, siem: boolean, transport = false): void {
  const ignore = ignoreMatcher(c.mp.ignore);
  const sender = mail.from?.address.toLowerCase() ?? '';
  if (withHeaders && sender.includes('@') && !ignore.email(sender)) c.set.add('mail', sender, { tags: ['sender', ...tags] });
  if (transport) for (const h of phishHeaderIndicators(mail, c.mp.internalRelays ?? [], ignore)) c.set.add(h.dataType, h.data, { tags: [...h.tags, ...tags] });
  if (withHeaders) c.set.add('mail-subject', mail.subject, { tags });
  const links = mail.html === null ? [] : htmlLinks(mail.html);
  // A signature or a disclaimer (email.stopwords) ends what is scanned: it names our own sites.
  const sections = sectionsOf(scannedText(mail.text, c.mp.stopwords));
  // A SIEM's or an advisory's links to its sender's own site are reading, not indicators; a plain
  // mail's (a phish sent straight to us) are exactly the indicators.
  const ownDomain = siem || sections.indicators.trim() !== '' ? (sender.split('@')[1] ?? '') : '';
  const reading = referenceTest(c.mp.referenceDomains, ownDomain);
  const body = links.length === 0 ? sections.body : `${sections.body}\n${links.join('\n')}`;
  const iocs = withoutReferences(extractIocs(body, c.mp), reading, c.references);
  addIocs(c, { ...iocs, emails: iocs.emails.filter((e) => !c.own.has(e)) }, tags);
  if (sections.indicators.trim() !== '') {
    // Listed as indicators by whoever wrote the advisory: those are IoCs.
    const listed = withoutReferences(extractIocs(sections.indicators, c.mp), reading, c.references);
    addIocs(c, { ...listed, emails: listed.emails.filter((e) => !c.own.has(e)) }, tags, true);
  }
  if (sections.references.trim() !== '') {
    const refs = extractIocs(sections.references, c.mp);
    for (const url of refs.urls) c.references.add(url);
    const hosts = new Set(refs.urls.map((u) => urlHost(u)));
    for (const domain of refs.domains) if (!hosts.has(domain)) c.references.add(domain);
  }
  addAttachments(c, mail.attachments, tags);
  for (const inner of mail.forwarded) addMail(c, inner, ['forwarded'], true, false);
}

/**
 * Each attachment's sha256 and md5 (`hash`, tag `attachment:<name>`) and name (`filename`). A
 * forwarded mail's own part is not one: its content is that mail's, read in `forwarded`.
 */
export function addAttachments(c: Collect, attachments: ParsedMail['attachments'], tags: readonly string[]): void {
  const ignore = ignoreMatcher(c.mp.ignore);
  for (const a of attachments) {
    if (a.forwardedMail === true) continue;
    const fileTags = [a.filename === null ? 'attachment' : `attachment:${a.filename}`, ...tags];
    for (const h of [a.sha256, a.md5]) if (!ignore.hash(h)) c.set.add('hash', h, { tags: fileTags });
    c.set.add('filename', a.filename, { tags });
  }
}

/** Whether a host is one to read rather than to investigate: a reference domain (or below it), or `ownDomain`. */
function referenceTest(domains: readonly string[], ownDomain: string): (host: string) => boolean {
  const under = underDomains(ownDomain === '' ? domains : [...domains, ownDomain]);
  return (host) => under(host.toLowerCase());
}

/** `iocs` without the URLs and domains `reading` claims, which go to `references` instead. */
function withoutReferences(iocs: Iocs, reading: (host: string) => boolean, references: Set<string>): Iocs {
  const urls = iocs.urls.filter((u) => {
    const host = urlHost(u);
    if (host === null || !reading(host)) return true;
    references.add(u);
    return false;
  });
  const domains = iocs.domains.filter((d) => !reading(d));
  return { ...iocs, urls, domains };
}

/** The observables of one alert as they are collected, and what collecting them needs. */
export interface Collect {
  readonly set: ObservableSet;
  readonly mp: MailPolicy;
  /** The top mail's To and Cc, lower case: our own mailbox and colleagues, never indicators. */
  readonly own: ReadonlySet<string>;
  /** Indicators left out over {@link MAX_PER_KIND} of a kind. */
  overflow: number;
  /** Links and sites to read (a References section, reference domains), listed in the description. */
  readonly references: Set<string>;
  /** `ip:port` indicators as written: the port is in the ip observable's tags and here. */
  readonly endpoints: Set<string>;
}

export function collector(mail: ParsedMail, mp: MailPolicy, ownToo: readonly string[] = []): Collect {
  const own = new Set([...[...mail.to, ...mail.cc].map((a) => a.address), ...ownToo].map((a) => a.toLowerCase()).filter((a) => a !== ''));
  return { set: new ObservableSet(), mp, own, overflow: 0, references: new Set(), endpoints: new Set() };
}

export function addIocs(c: Collect, iocs: Iocs, tags: readonly string[], ioc = false): void {
  const set = c.set;
  c.overflow += iocs.overflow;
  const opts = ioc ? { tags, ioc } : { tags };
  for (const url of iocs.urls) set.add('url', url, opts);
  for (const domain of iocs.domains) set.add('domain', domain, opts);
  for (const ip of iocs.ips) {
    const ports = iocs.ports.get(ip) ?? [];
    for (const port of ports) c.endpoints.add(`${ip}:${port}`);
    const ipTags = [...(ipScope(ip) === 'private' ? ['private'] : []), ...ports.map((p) => `port:${p}`), ...tags];
    set.add('ip', ip, { ...opts, tags: ipTags });
  }
  for (const mail of iocs.emails) set.add('mail', mail, opts);
  for (const h of [...iocs.hashes.md5, ...iocs.hashes.sha1, ...iocs.hashes.sha256]) set.add('hash', h, opts);
}
