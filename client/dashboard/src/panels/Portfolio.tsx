import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useId, useState, type FormEvent } from 'react';
import { MarketOverviewDocument, PlaceOrderDocument, PortfolioChangedDocument, PortfolioDocument, type OrderSide } from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { Tile } from '../components/Tile.js';
import { errorMessage, formatInteger, formatPrice, formatSigned, trend } from '../format.js';
import { useOnReconnect } from '../hooks.js';
import { historyLength } from './Market.js';

/** Cash, positions and P&L, live through `portfolioChanged`, with an order form. */
export function Portfolio({ signedIn }: { signedIn: boolean }) {
  return (
    <Panel id="portfolio" title="Portfolio">
      {signedIn ? <PortfolioBody /> : <p className="muted">Sign in as a guest (top of the page) to get 10,000 in cash and trade.</p>}
    </Panel>
  );
}

function PortfolioBody() {
  const { data, error, refetch } = useQuery(PortfolioDocument);
  // `Portfolio` is a singleton in the cache, so each event updates what the query shows.
  useSubscription(PortfolioChangedDocument, { ignoreResults: true });
  useOnReconnect(() => void refetch().catch(() => {}));
  const portfolio = data?.portfolio;

  if (error && !data) return <p className="error-text" role="alert">Could not load the portfolio: {error.message}</p>;
  if (!portfolio) return <p className="muted">Loading portfolio…</p>;
  return (
    <div className="portfolio">
      <dl className="tiles">
        <Tile label="Cash" value={formatPrice(portfolio.cash)} testId="cash" />
        <Tile label="Total value" value={formatPrice(portfolio.totalValue)} testId="total" />
        <Tile label="Unrealized P&L" value={formatSigned(portfolio.unrealizedPnl)} tone={trend(portfolio.unrealizedPnl)} testId="unrealized" />
        <Tile label="Realized P&L" value={formatSigned(portfolio.realizedPnl)} tone={trend(portfolio.realizedPnl)} testId="realized" />
      </dl>
      {portfolio.positions.length ? (
        <table className="positions">
          <caption className="sr-only">Positions</caption>
          <thead>
            <tr>
              <th scope="col">Stock</th>
              <th scope="col" className="num">Shares</th>
              <th scope="col" className="num col-cost">Avg cost</th>
              <th scope="col" className="num">Value</th>
              <th scope="col" className="num">P&L</th>
            </tr>
          </thead>
          <tbody>
            {portfolio.positions.map((position) => (
              <tr key={position.symbol} data-position={position.symbol}>
                <th scope="row">{position.symbol}</th>
                <td className="num">{formatInteger(position.quantity)}</td>
                <td className="num col-cost">{formatPrice(position.averageCost)}</td>
                <td className="num">{formatPrice(position.marketValue)}</td>
                <td className={`num ${trend(position.unrealizedPnl)}`}>{formatSigned(position.unrealizedPnl)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No positions yet.</p>
      )}
      <OrderForm />
    </div>
  );
}

function OrderForm() {
  const id = useId();
  const { data } = useQuery(MarketOverviewDocument, { variables: { historyLast: historyLength } });
  const [placeOrder, { loading }] = useMutation(PlaceOrderDocument);
  const [symbol, setSymbol] = useState('');
  const [side, setSide] = useState<OrderSide>('BUY');
  const [quantity, setQuantity] = useState('10');
  const [strategy, setStrategy] = useState('manual');
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const stocks = data?.stocks ?? [];
  const chosen = symbol || stocks[0]?.symbol || '';
  const price = stocks.find((s) => s.symbol === chosen)?.price;
  const shares = Number.parseInt(quantity, 10);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setResult(null);
    try {
      const { data: placed } = await placeOrder({ variables: { symbol: chosen, side, quantity: shares, strategy } });
      const trade = placed?.placeOrder;
      if (trade) {
        const locked = trade.side === 'SELL' ? ` (${formatSigned(trade.realizedPnl)})` : '';
        setResult({ ok: true, text: `${trade.side === 'BUY' ? 'Bought' : 'Sold'} ${formatInteger(trade.quantity)} ${trade.symbol} at ${formatPrice(trade.price)}${locked}.` });
      }
    } catch (error) {
      setResult({ ok: false, text: errorMessage(error) });
    }
  };

  return (
    <form className="order-form" onSubmit={submit} aria-describedby={`${id}-error`}>
      <h3>Place an order</h3>
      <div className="form-row">
        <label className="field">
          <span>Stock</span>
          <select value={chosen} onChange={(e) => setSymbol(e.target.value)} name="symbol">
            {stocks.map((s) => (
              <option key={s.symbol} value={s.symbol}>
                {s.symbol} · {formatPrice(s.price)}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="field segmented">
          <legend>Side</legend>
          {(['BUY', 'SELL'] as const).map((value) => (
            <label key={value} className={side === value ? 'checked' : undefined}>
              <input type="radio" name="side" value={value} checked={side === value} onChange={() => setSide(value)} />
              {value === 'BUY' ? 'Buy' : 'Sell'}
            </label>
          ))}
        </fieldset>
        <label className="field field-qty">
          <span>Shares</span>
          <input type="number" name="quantity" min={1} step={1} required inputMode="numeric" value={quantity} onChange={(e) => setQuantity(e.target.value)} />
        </label>
        <label className="field field-strategy">
          <span>Strategy</span>
          <input name="strategy" required maxLength={40} pattern="[A-Za-z0-9 _.\-]+" value={strategy} onChange={(e) => setStrategy(e.target.value)} />
        </label>
        <button type="submit" className={`button ${side === 'BUY' ? 'primary' : 'danger'}`} disabled={loading || !chosen}>
          {side === 'BUY' ? 'Buy' : 'Sell'}
          {price !== undefined && shares > 0 ? <span className="button-note"> ≈ {formatPrice(price * shares)}</span> : null}
        </button>
      </div>
      <p id={`${id}-error`} className="error-text" role="alert" data-testid="order-error">
        {result?.ok === false ? result.text : null}
      </p>
      <p className="ok-text" role="status" data-testid="order-ok">
        {result?.ok ? result.text : null}
      </p>
    </form>
  );
}
