import { useQuery, useSubscription } from '@apollo/client/react';
import { MarketOverviewDocument, MarketTickerDocument, type MarketOverviewQuery } from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { Sparkline } from '../components/Sparkline.js';
import { formatCompact, formatPercent, formatPrice, formatSigned, trend } from '../format.js';
import { useFlash, useOnReconnect } from '../hooks.js';

/** Price points per sparkline; the ticker appends to the cached history and keeps this many. */
export const historyLength = 40;

type Stock = MarketOverviewQuery['stocks'][number];

/** Every stock, live: the ticker subscription writes each tick into the cached stocks and their history. */
export function Market() {
  const { data, error, refetch } = useQuery(MarketOverviewDocument, { variables: { historyLast: historyLength } });
  // No render of its own: the client's live cache writer updates the stocks this panel reads.
  useSubscription(MarketTickerDocument, { ignoreResults: true });
  useOnReconnect(() => void refetch().catch(() => {}));

  return (
    <Panel id="market" title="Market" aside={<span className="muted">{data ? `${data.stocks.length} stocks` : null}</span>}>
      {error && !data ? <p className="error-text" role="alert">Could not load the market: {error.message}</p> : null}
      {!data && !error ? <p className="muted">Loading prices…</p> : null}
      {data ? (
        <table className="market-table">
          <thead>
            <tr>
              <th scope="col">Stock</th>
              <th scope="col" className="col-trend">Trend</th>
              <th scope="col" className="num">Price</th>
              <th scope="col" className="num col-change">Change</th>
              <th scope="col" className="num">%</th>
              <th scope="col" className="num col-volume">Volume</th>
            </tr>
          </thead>
          <tbody>
            {data.stocks.map((stock) => (
              <StockRow key={stock.symbol} stock={stock} />
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

function StockRow({ stock }: { stock: Stock }) {
  const flash = useFlash(stock.price);
  const direction = trend(stock.change);
  const history = stock.history.map((point) => point.price);
  return (
    <tr data-symbol={stock.symbol} className={flash ? `flash-${flash.dir}-${flash.n % 2}` : undefined}>
      <th scope="row" className="stock-name">
        <span className="symbol">{stock.symbol}</span>
        <span className="company" title={stock.name}>
          {stock.name}
        </span>
      </th>
      <td className="col-trend">
        <Sparkline
          values={history}
          direction={direction}
          label={`${stock.symbol}: last ${history.length} prices, ${formatPercent(stock.changePercent)} since open`}
        />
      </td>
      <td className="num price" data-testid="price">
        <span className="price-value">{formatPrice(stock.price)}</span>
      </td>
      <td className={`num col-change ${direction}`}>{formatSigned(stock.change)}</td>
      <td className={`num ${direction}`}>
        <span className="pct">{formatPercent(stock.changePercent)}</span>
      </td>
      <td className="num col-volume muted">{formatCompact(stock.volume)}</td>
    </tr>
  );
}
