/**
 * The parts of an advisory's text an analyst reads differently (issue 13): an "Indicators of
 * compromise" section lists what to hunt for (its values are IoCs: `ioc: true`), a "References"
 * section links to what was read (vendor blogs, CERT pages: never observables, an analyzer run on
 * them would only leak them to third parties). Everything else is the body. Pure and linear.
 *
 * A section starts at a heading line (`Indicators of compromise:`, `## IoCs`, `Индикаторы
 * компрометации`, `References`, `Ссылки`…) and runs to the next heading that is not one of its own
 * sub-headings: a markdown `#` heading, a prose heading an advisory ends its lists with
 * (`Recommendations:`, `Mitigation`, `Рекомендации:`…), or a signature (`-- `, `Best regards`).
 * `Hashes:`, `C2 servers:`, `SHA256:` inside an indicator list stay in it.
 */

export interface MailSections {
  /** Text under indicator headings, joined. */
  readonly indicators: string;
  /** Text under reference headings, joined. */
  readonly references: string;
  /** Everything else. */
  readonly body: string;
}

/** Heading words (one line, optionally `#`-prefixed, numbered or `:`-ended), EN and RU. */
const INDICATOR_HEADING = /^(?:#{1,6}\s*)?(?:\d+[.)]\s*)?(?:indicators?(?:\s+of\s+compromise)?|io[cс]s?(?:\s+list)?|индикатор[а-яё]*(?:\s+компрометации)?|ioc-?индикатор[а-яё]*)\s*(?:\([^)]{0,40}\))?\s*:?\s*$/i;
const REFERENCE_HEADING = /^(?:#{1,6}\s*)?(?:\d+[.)]\s*)?(?:references?|links|sources|further reading|ссылки|источники|дополнительная информация)\s*:?\s*$/i;
/** What ends a section: a markdown heading, an advisory's prose heading, a signature. */
const OTHER_HEADING =
  /^(?:#{1,6}\s+\S.*|(?:\d+[.)]\s*)?(?:recommendations?|mitigations?|remediation|description|summary|details|analysis|conclusions?|detection|technical details|timeline|background|contacts?|about|рекомендации|меры|описание|выводы|заключение|обнаружение|контакты|подробности)\b[^:]{0,40}:?|--|—{2,}|(?:best |kind )?regards,?|с уважением,?)\s*$/i;
/** Headings are short: longer lines are text, whatever they end with. */
const HEADING_MAX = 80;

export function sectionsOf(text: string): MailSections {
  const indicators: string[] = [];
  const references: string[] = [];
  const body: string[] = [];
  let current: string[] = body;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.length > 0 && trimmed.length <= HEADING_MAX) {
      if (INDICATOR_HEADING.test(trimmed)) {
        current = indicators;
        continue;
      }
      if (REFERENCE_HEADING.test(trimmed)) {
        current = references;
        continue;
      }
      if (current !== body && OTHER_HEADING.test(trimmed) && !/^(?:https?|hxxps?):/i.test(trimmed)) {
        current = body;
      }
    }
    current.push(line);
  }
  return { indicators: indicators.join('\n'), references: references.join('\n'), body: body.join('\n') };
}
