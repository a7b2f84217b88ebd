import { expect } from 'chai';
import { addressOf, findInlineForwards, htmlToText, parseNotification } from '../../../src/parse/mail-text.js';
import { DEFAULT_MAIL_POLICY } from '../../../src/map/mail-policy.js';

describe('findInlineForwards', () => {
  it('Outlook: -----Original Message----- with From/Sent/To/Subject', () => {
    const text = [
      'Please check.',
      '',
      '-----Original Message-----',
      'From: IT Support [mailto:it-support@helpdesk-reset.top]',
      'Sent: Monday, March 18, 2024 10:02 AM',
      'To: Bekov, Timur',
      'Subject: Mailbox quota exceeded',
      '',
      'Your mailbox is full, click here.',
    ].join('\r\n');
    expect(findInlineForwards(text, 10)).to.deep.equal([
      {
        from: { address: 'it-support@helpdesk-reset.top', name: 'IT Support' },
        subject: 'Mailbox quota exceeded',
        dateText: 'Monday, March 18, 2024 10:02 AM',
        to: 'Bekov, Timur',
        text: 'Your mailbox is full, click here.',
      },
    ]);
  });

  it('Russian Yandex/Mail.ru separator with От/Кому/Тема', () => {
    const text = [
      'Смотрите ниже.',
      '-------- Пересылаемое сообщение --------',
      'От: "Налоговая служба" <uved@nalog-uvedomlenie.ru>',
      'Дата: 18.03.2024, 09:15',
      'Кому: buh@qazlogistik.kz',
      'Тема: Требование об уплате',
      '',
      'Откройте требование по ссылке.',
      '-------- Конец пересылаемого сообщения --------',
    ].join('\n');
    const [block] = findInlineForwards(text, 10);
    expect(block?.from).to.deep.equal({ address: 'uved@nalog-uvedomlenie.ru', name: 'Налоговая служба' });
    expect(block?.subject).to.equal('Требование об уплате');
    expect(block?.dateText).to.equal('18.03.2024, 09:15');
    expect(block?.to).to.equal('buh@qazlogistik.kz');
    expect(block?.text).to.include('Откройте требование по ссылке.');
  });

  it('Apple Mail and Thunderbird separators; several blocks in order; a cap', () => {
    const text = [
      'Begin forwarded message:',
      'From: A <a@first-sender.top>',
      'Subject: one',
      '',
      'first body',
      '-------- Forwarded Message --------',
      'Subject: two',
      'From: B <b@second-sender.top>',
      '',
      'second body',
    ].join('\n');
    const blocks = findInlineForwards(text, 10);
    expect(blocks.map((b) => [b.from?.address, b.subject, b.text])).to.deep.equal([
      ['a@first-sender.top', 'one', 'first body'],
      ['b@second-sender.top', 'two', 'second body'],
    ]);
    expect(findInlineForwards(text, 1)).to.have.length(1);
  });

  it('an Outlook HTML rule (underscores) only when a From line follows', () => {
    const rule = '_'.repeat(32);
    expect(findInlineForwards(`${rule}\nFrom: X <x@rule-sender.top>\nSubject: s\n\nbody`, 5)).to.have.length(1);
    expect(findInlineForwards(`${rule}\nJust a divider\n`, 5)).to.deep.equal([]);
  });

  it('a separator without header lines still makes a block; prose mentioning forwarding does not', () => {
    expect(findInlineForwards('---------- Forwarded message ---------\nno headers\n', 5)).to.deep.equal([
      { from: null, subject: null, dateText: null, to: null, text: 'no headers' },
    ]);
    expect(findInlineForwards('I forwarded message to you. Original message was lost.', 5)).to.deep.equal([]);
  });

  it('is linear on long hostile lines', () => {
    const text = `${'-'.repeat(100_000)} Forwarded message ${'-'.repeat(100_000)}\n${' '.repeat(200_000)}From:\n`;
    expect(findInlineForwards(text, 5)).to.deep.equal([]);
  });
});

describe('addressOf', () => {
  const cases: Array<[string, ReturnType<typeof addressOf>]> = [
    ['Name <a@b.kz>', { address: 'a@b.kz', name: 'Name' }],
    ['"Quoted, Name" <a@b.kz>', { address: 'a@b.kz', name: 'Quoted, Name' }],
    ['IT [mailto:it@helpdesk.kz]', { address: 'it@helpdesk.kz', name: 'IT' }],
    ['plain@addr.kz', { address: 'plain@addr.kz', name: '' }],
    ['Bekov, Timur', { address: '', name: 'Bekov, Timur' }],
    ['   ', null],
  ];
  for (const [input, expected] of cases) it(JSON.stringify(input), () => expect(addressOf(input)).to.deep.equal(expected));
});

describe('parseNotification', () => {
  it('fields before the marker, keys any case, bullets stripped, raw events verbatim', () => {
    const text = [
      'Hello,',
      '- INCIDENT ID: 42',
      '* event_severity: Low',
      'Note: -',
      'See https://siem.local/incident/42',
      '',
      '=== RAW EVENTS ===',
      '',
      'line one: with colon',
      '  indented line two',
      '',
    ].join('\n');
    expect(parseNotification(text, DEFAULT_MAIL_POLICY)).to.deep.equal({
      incidentId: '42',
      fields: [
        { key: 'INCIDENT ID', value: '42' },
        { key: 'event_severity', value: 'Low' },
        { key: 'Note', value: null },
      ],
      rawEvents: 'line one: with colon\n  indented line two',
    });
  });

  it('a marker followed by a colon and the first event on the same line', () => {
    const n = parseNotification('Incident ID: 7\nRaw Events: first event\nsecond event', DEFAULT_MAIL_POLICY);
    expect(n?.rawEvents).to.equal('first event\nsecond event');
  });

  it('prose starting with the marker words is not a marker', () => {
    const n = parseNotification('Incident ID: 7\nRaw events are attached to the ticket.\nStatus: Open', DEFAULT_MAIL_POLICY);
    expect(n?.rawEvents).to.equal(null);
    expect(n?.fields.map((f) => f.key)).to.deep.equal(['Incident ID', 'Status']);
  });

  it('Russian incident-ID key and marker', () => {
    const n = parseNotification('Идентификатор инцидента: 5521\nСтатус: Новый\nИсходные события:\nсобытие 1', DEFAULT_MAIL_POLICY);
    expect(n).to.deep.equal({
      incidentId: '5521',
      fields: [
        { key: 'Идентификатор инцидента', value: '5521' },
        { key: 'Статус', value: 'Новый' },
      ],
      rawEvents: 'событие 1',
    });
  });

  it('null without an incident ID, with an empty one, or with the ID only after the marker', () => {
    expect(parseNotification('Severity: High\nStatus: New', DEFAULT_MAIL_POLICY)).to.equal(null);
    expect(parseNotification('Incident ID: -\nStatus: New', DEFAULT_MAIL_POLICY)).to.equal(null);
    expect(parseNotification('Raw Events\nIncident ID: 9', DEFAULT_MAIL_POLICY)).to.equal(null);
    // A bare "Incident:" is a user's words, not a SIEM's ID key.
    expect(parseNotification('Incident: I clicked a link\nИнцидент: кликнул по ссылке', DEFAULT_MAIL_POLICY)).to.equal(null);
  });

  it('the incident ID of the earliest synonym in the list, wherever its line is (issue 13)', () => {
    const policy = { fieldNames: { incidentId: ['Incident ID', 'Alert ID'] }, rawEventsMarkers: [] };
    expect(parseNotification('Alert ID: A-1\nIncident ID: -\nincident_id: INC-2\nIncident ID: INC-3', policy)?.incidentId).to.equal('INC-2');
    expect(parseNotification('Alert ID: A-1\nStatus: New', policy)?.incidentId).to.equal('A-1');
    // KUMA's alert ID, QRadar's offense ID are notifications by default.
    expect(parseNotification('ID алерта: 6a1f\nКритичность: Высокая', DEFAULT_MAIL_POLICY)?.incidentId).to.equal('6a1f');
    expect(parseNotification('Offense ID: 5127\nMagnitude: 8', DEFAULT_MAIL_POLICY)?.incidentId).to.equal('5127');
  });

  it('uses the policy: custom incident key and marker', () => {
    const policy = { fieldNames: { incidentId: ['Alarm No'] }, rawEventsMarkers: ['Payload'] };
    expect(parseNotification('alarm_no: A-1\npayload\nx', policy)).to.deep.equal({
      incidentId: 'A-1',
      fields: [{ key: 'alarm_no', value: 'A-1' }],
      rawEvents: 'x',
    });
  });
});

describe('htmlToText', () => {
  it('drops script and style, breaks blocks, removes tags, decodes entities', () => {
    const html =
      '<html><head><style>p{x:1}</style><script>var u="http://tracker.evil.top"</script></head>' +
      '<body><p>Hello&nbsp;<b>evil</b>.com &amp; co</p><div>next<br>line &#8376; &#x41;</div></body></html>';
    expect(htmlToText(html)).to.equal('Hello evil.com & co\n\nnext\nline ₸ A');
  });

  it('an unclosed script drops the rest; stray angle brackets stay', () => {
    expect(htmlToText('a < b <script>never closed')).to.equal('a < b');
  });

  it('is linear on hostile HTML', () => {
    expect(htmlToText('<'.repeat(200_000))).to.equal('<'.repeat(200_000));
    expect(htmlToText('<script'.repeat(30_000))).to.equal('');
    expect(htmlToText('<a '.repeat(60_000)).length).to.be.greaterThan(0);
  });
});
