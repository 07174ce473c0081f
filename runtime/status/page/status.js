// The status page: polls status.json and renders it. Plain DOM (textContent only: values from the
// job never become markup), no build step, no dependencies.
const REFRESH_MS = 2000;
const number = new Intl.NumberFormat();
const $ = (id) => document.getElementById(id);
let previous; // the last status, for the current rate

function duration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function time(ms) {
  return ms === null || ms === undefined ? '–' : new Date(ms).toLocaleTimeString();
}

function lag(source) {
  if (source === null || source.lag === null) return '–';
  if (source.lag.messages !== undefined) return `${number.format(source.lag.messages)} messages`;
  if (source.lag.bytes !== undefined) return `${number.format(source.lag.bytes)} bytes`;
  return '–';
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

function fillRows(tbody, rows, columns, empty) {
  const fragment = document.createDocumentFragment();
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    cell(tr, empty).colSpan = columns;
    fragment.append(tr);
  }
  for (const values of rows) {
    const tr = document.createElement('tr');
    for (const [text, className] of values) cell(tr, text, className);
    fragment.append(tr);
  }
  tbody.replaceChildren(fragment);
}

function renderChart(points) {
  const svg = $('throughput-chart');
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  if (points.length === 0) {
    $('throughput-caption').textContent = 'No throughput sample yet (one every 2 s while running).';
    return;
  }
  const max = Math.max(1, ...points.map((p) => p.messagesPerSecond));
  const width = 600;
  const height = 120;
  const step = points.length > 1 ? width / (points.length - 1) : 0;
  const base = document.createElementNS(ns, 'line');
  base.setAttribute('x1', '0');
  base.setAttribute('x2', String(width));
  base.setAttribute('y1', String(height - 1));
  base.setAttribute('y2', String(height - 1));
  svg.append(base);
  const line = document.createElementNS(ns, 'polyline');
  const coords = points.map(
    (p, i) => `${(i * step).toFixed(1)},${(height - 4 - (p.messagesPerSecond / max) * (height - 12)).toFixed(1)}`,
  );
  if (coords.length === 1) coords.push(`${width},${coords[0].split(',')[1]}`);
  line.setAttribute('points', coords.join(' '));
  svg.append(line);
  const last = points[points.length - 1];
  $('throughput-caption').textContent =
    `Messages read per second over the last ${points.length > 1 ? duration(last.at - points[0].at) : 'sample'}: ` +
    `now ${number.format(Math.round(last.messagesPerSecond))}, peak ${number.format(Math.round(max))}.`;
}

function render(status) {
  document.title = `${status.job} · stator`;
  $('job').textContent = status.job;
  const state = $('state');
  state.textContent = status.state;
  state.className = `badge ${status.readiness.ready ? 'ok' : status.state === 'failed' ? 'bad' : 'warn'}`;
  $('readiness').textContent = status.readiness.ready ? 'ready' : `not ready: ${status.readiness.message}`;
  $('owner').textContent = status.owner;
  const updated = $('updated');
  updated.textContent = time(status.now);
  updated.dateTime = new Date(status.now).toISOString();

  const source = status.source;
  $('messages-read').textContent = source === null ? '–' : number.format(source.messagesRead);
  $('position').textContent = source === null ? '–' : number.format(source.position);
  $('lag').textContent = lag(source);
  if (previous !== undefined && source !== null && previous.source !== null && status.now > previous.now) {
    const rate = ((source.messagesRead - previous.source.messagesRead) * 1000) / (status.now - previous.now);
    $('rate').textContent = `${number.format(Math.round(rate))} msg/s`;
  }
  const last = status.checkpoint.last;
  $('checkpoint').textContent = last === null ? 'none yet' : `#${last.id}, ${duration(last.ageMs)} ago`;
  $('dead-letter-total').textContent = number.format(status.deadLetters.total);
  $('nats').textContent =
    status.nats === null ? 'not used (embedded)' : `${status.nats.state}, ${status.nats.reconnects} reconnects`;

  renderChart(status.throughput);

  const rows = [];
  for (const stage of status.stages) {
    for (const p of stage.partitions) {
      rows.push([
        [stage.name],
        [String(p.partition), 'num'],
        [status.owner],
        [source === null ? '–' : number.format(source.position), 'num'],
        [number.format(p.messagesIn), 'num'],
        [number.format(p.messagesOut), 'num'],
        [number.format(p.mailboxDepth), 'num'],
        [p.watermark === null ? '–' : new Date(p.watermark).toISOString()],
        [duration(p.watermarkLagMs), 'num'],
        [last === null ? '–' : `${duration(last.ageMs)} ago`, 'num'],
        [number.format(p.keys), 'num'],
        [number.format(p.retries), 'num'],
        [number.format(p.deadLetters), 'num'],
      ]);
    }
  }
  fillRows($('partitions').tBodies[0], rows, 13, 'Waiting for the job to open its partitions…');

  const letters = [...status.deadLetters.recent]
    .reverse()
    .map((d) => [
      [time(d.at)],
      [d.stage],
      [d.partition === null ? '–' : String(d.partition), 'num'],
      [number.format(d.position), 'num'],
      [String(d.attempts), 'num'],
      [d.error, 'wrap'],
    ]);
  fillRows($('dead-letters').tBodies[0], letters, 6, 'None.');

  const problems = $('problems');
  const items = [...status.problems].reverse().map((p) => {
    const li = document.createElement('li');
    li.className = p.level;
    li.textContent = `${time(p.at)} ${p.level}: ${p.message}`;
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.textContent = 'None.';
    items.push(li);
  }
  problems.replaceChildren(...items);
  previous = status;
}

async function refresh() {
  const banner = $('connection-error');
  try {
    const response = await fetch('status.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`status.json answered ${response.status}`);
    render(await response.json());
    banner.hidden = true;
  } catch (error) {
    banner.textContent = `Cannot reach the job: ${error.message}. Retrying…`;
    banner.hidden = false;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

void refresh();
