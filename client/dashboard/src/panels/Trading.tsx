import { useQuery, useSubscription } from '@apollo/client/react';
import { useMemo, useState, type CSSProperties } from 'react';
import {
  PnlTickedDocument,
  TradeExecutedDocument,
  TradingDeskDocument,
  type PnlInterval,
  type PnlTickedSubscription,
  type TradeFieldsFragment,
  type TradingDeskQuery,
} from '../../../generated/graphql.js';
import { EquityChart, type EquityPoint } from '../components/EquityChart.js';
import { Panel } from '../components/Panel.js';
import { Tile } from '../components/Tile.js';
import { formatClock, formatInteger, formatPrice, formatSigned, trend } from '../format.js';
import { useOnReconnect } from '../hooks.js';

/** Newest trades the log keeps on screen. */
const tradeLogLength = 20;
/** Windows of the equity curve: the interval and how far back it starts. */
const ranges: Record<'10m' | '24h', { interval: PnlInterval; seconds: number; label: string }> = {
  '10m': { interval: 'SECOND', seconds: 600, label: 'last 10 minutes, by second' },
  '24h': { interval: 'MINUTE', seconds: 86_400, label: 'last 24 hours, by minute' },
};

type Desk = NonNullable<TradingDeskQuery['portfolio']>;
type Tick = PnlTickedSubscription['pnlTicked'];

/** The trading view: live P&L, equity curve with drawdown, month calendar, strategies and trade log. */
export function Trading({ signedIn }: { signedIn: boolean }) {
  return (
    <Panel id="trading" title="Trading">
      {signedIn ? <TradingBody /> : <p className="muted">Sign in to see your P&L over time, per day and per strategy.</p>}
    </Panel>
  );
}

const currentMonth = () => new Date().toISOString().slice(0, 7);

function TradingBody() {
  const [range, setRange] = useState<keyof typeof ranges>('10m');
  const [month] = useState(currentMonth);
  // Fixed when the range is chosen, so the query's variables stay the same while live points append.
  const from = useMemo(() => new Date(Date.now() - ranges[range].seconds * 1000).toISOString(), [range]);
  const { data, error, refetch } = useQuery(TradingDeskDocument, {
    variables: { interval: ranges[range].interval, from, month },
    fetchPolicy: 'cache-and-network',
  });
  const [tick, setTick] = useState<Tick | null>(null);
  const [live, setLive] = useState<EquityPoint[]>([]);
  const [fills, setFills] = useState<TradeFieldsFragment[]>([]);
  useOnReconnect(() => void refetch().catch(() => {}));

  useSubscription(PnlTickedDocument, {
    onData: ({ data: result }) => {
      const next = result.data?.pnlTicked;
      if (!next) return;
      setTick(next);
      const point = { at: Math.floor(Date.parse(next.at) / 1000), equity: next.totalValue };
      setLive((points) => (points.at(-1)?.at === point.at ? [...points.slice(0, -1), point] : [...points, point]));
    },
  });
  const desk = data?.portfolio;
  const newest = desk?.trades[0]?.cursor;
  useSubscription(TradeExecutedDocument, {
    skip: !desk,
    variables: { after: newest },
    onData: ({ data: result }) => {
      const trade = result.data?.tradeExecuted;
      if (trade) setFills((shown) => (shown.some((t) => t.id === trade.id) ? shown : [trade, ...shown].slice(0, tradeLogLength)));
    },
  });

  if (error && !desk) return <p className="error-text" role="alert">Could not load the trading view: {error.message}</p>;
  if (!desk) return <p className="muted">Loading trading view…</p>;
  const trades = [...fills, ...desk.trades.filter((t) => !fills.some((f) => f.id === t.id))].slice(0, tradeLogLength);
  return (
    <div className="trading">
      <Figures desk={desk} tick={tick} />
      <section className="trading-chart" aria-labelledby="equity-title">
        <header className="subhead">
          <h3 id="equity-title">Equity</h3>
          <div className="segmented small" role="group" aria-label="Range">
            {(Object.keys(ranges) as Array<keyof typeof ranges>).map((key) => (
              <button key={key} type="button" className={range === key ? 'checked' : undefined} aria-pressed={range === key} onClick={() => setRange(key)}>
                {key}
              </button>
            ))}
          </div>
        </header>
        <Curve desk={desk} live={live} label={ranges[range].label} />
      </section>
      <Calendar month={month} days={desk.pnlCalendar} tick={tick} liveTrades={fills.filter((f) => !desk.trades.some((t) => t.id === f.id))} />
      <Strategies strategies={tick?.strategies ?? desk.strategies} />
      <TradeLog trades={trades} />
    </div>
  );
}

function Figures({ desk, tick }: { desk: Desk; tick: Tick | null }) {
  const totalPnl = tick?.totalPnl ?? desk.totalPnl;
  const todayPnl = tick?.todayPnl ?? desk.todayPnl;
  const current = tick?.drawdown ?? desk.drawdown.current;
  return (
    <dl className="tiles">
      <Tile label="Total P&L" value={formatSigned(totalPnl)} tone={trend(totalPnl)} testId="total-pnl" />
      <Tile label="Today" value={formatSigned(todayPnl)} tone={trend(todayPnl)} testId="today-pnl" />
      <Tile label="Drawdown now" value={formatPrice(current)} tone={current > 0 ? 'down' : undefined} testId="drawdown-now" />
      <Tile
        label="Max drawdown"
        // The live drop may already be deeper than the one read at load time.
        value={current > desk.drawdown.max ? formatPrice(current) : `${formatPrice(desk.drawdown.max)} · ${desk.drawdown.maxPercent.toFixed(2)}%`}
        tone={Math.max(desk.drawdown.max, current) > 0 ? 'down' : undefined}
        testId="drawdown-max"
      />
    </dl>
  );
}

function Curve({ desk, live, label }: { desk: Desk; live: EquityPoint[]; label: string }) {
  const points = useMemo(() => {
    const recorded = desk.pnlHistory.map((p) => ({ at: Math.floor(Date.parse(p.at) / 1000), equity: p.equity }));
    const last = recorded.at(-1)?.at ?? 0;
    return [...recorded, ...live.filter((p) => p.at > last)];
  }, [desk.pnlHistory, live]);
  if (!points.length) return <p className="muted chart-empty">No P&L recorded in this range yet: it is recorded once a second while your value changes.</p>;
  return <EquityChart points={points} label={`Equity, ${label}: ${points.length} points, last ${formatPrice(points.at(-1)!.equity)}`} />;
}

const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** A month as a heatmap: one cell per day, green for gains and red for losses, deeper for bigger days. */
/** `liveTrades`: fills that arrived after the calendar was read (added to today's count). */
function Calendar({ month, days, tick, liveTrades }: { month: string; days: Desk['pnlCalendar']; tick: Tick | null; liveTrades: TradeFieldsFragment[] }) {
  const today = new Date().toISOString().slice(0, 10);
  const shown = days.map((day) =>
    day.date === today
      ? { ...day, pnl: tick?.todayPnl ?? day.pnl, trades: day.trades + liveTrades.filter((t) => t.at.startsWith(today)).length }
      : day,
  );
  const byDate = new Map(shown.map((d) => [d.date, d]));
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  const first = new Date(Date.UTC(year, monthNumber - 1, 1));
  const length = new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
  const offset = (first.getUTCDay() + 6) % 7; // Monday first
  const largest = Math.max(1, ...shown.map((d) => Math.abs(d.pnl)));
  const title = first.toLocaleDateString('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
  return (
    <section className="pnl-calendar" aria-labelledby="calendar-title">
      <header className="subhead">
        <h3 id="calendar-title">{title}</h3>
        <span className="muted">daily P&L (UTC)</span>
      </header>
      <div className="calendar-grid" role="grid" aria-labelledby="calendar-title">
        {weekdays.map((d) => (
          <div key={d} className="calendar-weekday" role="columnheader">
            {d}
          </div>
        ))}
        {Array.from({ length: offset }, (_, i) => (
          <div key={`pad-${i}`} className="calendar-pad" aria-hidden="true" />
        ))}
        {Array.from({ length }, (_, i) => {
          const date = `${month}-${String(i + 1).padStart(2, '0')}`;
          const day = byDate.get(date);
          const strength = day ? Math.min(1, Math.abs(day.pnl) / largest) : 0;
          const tone = day ? trend(day.pnl) : 'future';
          const text = day ? `${date}: ${formatSigned(day.pnl)}, ${day.trades} trades, ${day.wins} wins, ${day.losses} losses` : `${date}: no data`;
          return (
            <div
              key={date}
              role="gridcell"
              className={`calendar-day ${tone}${date === today ? ' today' : ''}`}
              style={{ '--strength': strength.toFixed(2) } as CSSProperties}
              title={text}
              aria-label={text}
              data-date={date}
              data-pnl={day?.pnl}
            >
              <span className="calendar-date">{i + 1}</span>
              {day && (day.pnl !== 0 || day.trades > 0) ? <span className="calendar-pnl num">{formatSigned(day.pnl, 0)}</span> : null}
              {day?.trades ? <span className="calendar-trades">{day.trades}×</span> : null}
            </div>
          );
        })}
      </div>
    </section>
  );
}

function Strategies({ strategies }: { strategies: Desk['strategies'] }) {
  return (
    <section className="strategies" aria-labelledby="strategies-title">
      <h3 id="strategies-title">Strategies</h3>
      {strategies.length ? (
        <table className="positions">
          <thead>
            <tr>
              <th scope="col">Strategy</th>
              <th scope="col" className="num">Trades</th>
              <th scope="col" className="num">Win rate</th>
              <th scope="col" className="num col-cost">Realized</th>
              <th scope="col" className="num col-cost">Unrealized</th>
              <th scope="col" className="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {strategies.map((s) => (
              <tr key={s.strategy} data-strategy={s.strategy}>
                <th scope="row">{s.strategy}</th>
                <td className="num">{formatInteger(s.trades)}</td>
                <td className="num">{s.winRate === null || s.winRate === undefined ? '–' : `${Math.round(s.winRate * 100)}%`}</td>
                <td className={`num col-cost ${trend(s.realizedPnl)}`}>{formatSigned(s.realizedPnl)}</td>
                <td className={`num col-cost ${trend(s.unrealizedPnl)}`}>{formatSigned(s.unrealizedPnl)}</td>
                <td className={`num ${trend(s.totalPnl)}`} data-testid="strategy-total">
                  {formatSigned(s.totalPnl)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No trades yet. Give an order a strategy name to track it separately.</p>
      )}
    </section>
  );
}

function TradeLog({ trades }: { trades: TradeFieldsFragment[] }) {
  return (
    <section className="trade-log" aria-labelledby="trades-title">
      <h3 id="trades-title">Trade log</h3>
      {trades.length ? (
        <ol className="trade-list" aria-live="polite">
          {trades.map((t) => (
            <li key={t.id} data-trade={t.id} className={t.side === 'BUY' ? 'buy' : 'sell'}>
              <time dateTime={t.at}>{formatClock(t.at)}</time>
              <span className="trade-side">{t.side === 'BUY' ? 'Bought' : 'Sold'}</span>
              <span>
                {formatInteger(t.quantity)} {t.symbol} @ {formatPrice(t.price)}
              </span>
              <span className="muted trade-strategy">{t.strategy}</span>
              <span className={`num ${trend(t.realizedPnl)}`}>{t.side === 'SELL' ? formatSigned(t.realizedPnl) : ''}</span>
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">Your fills appear here as they happen.</p>
      )}
    </section>
  );
}
