/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation AnnounceWorldEvent($message: String!, $kind: String, $severity: Severity) {\n  announceWorldEvent(message: $message, kind: $kind, severity: $severity) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": typeof types.AnnounceWorldEventDocument,
    "mutation CreateGame($name: String!, $maxPlayers: Int) {\n  createGame(name: $name, maxPlayers: $maxPlayers) {\n    ...GameFields\n  }\n}": typeof types.CreateGameDocument,
    "subscription FactionInfluence($after: String) {\n  factionInfluenceChanged(after: $after) {\n    cursor\n    delta\n    reason\n    at\n    faction {\n      id\n      name\n      influence\n      lastChange\n    }\n  }\n}": typeof types.FactionInfluenceDocument,
    "query Factions {\n  factions {\n    id\n    name\n    influence\n    lastChange\n  }\n}": typeof types.FactionsDocument,
    "subscription GameEvents($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after) {\n    __typename\n    cursor\n    at\n    ... on PlayerJoined {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerLeft {\n      player {\n        id\n        name\n      }\n      newHost {\n        id\n        name\n      }\n    }\n    ... on PlayerConnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerDisconnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on ChoiceSubmitted {\n      player {\n        id\n        name\n      }\n      turnNumber\n      choicesSubmitted\n      totalPlayers\n      allSubmitted\n      waitingFor {\n        id\n        name\n      }\n    }\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n      votes {\n        choice {\n          id\n          label\n        }\n        count\n      }\n      resolvedBy {\n        id\n        name\n      }\n    }\n    ... on ScenarioStarted {\n      turnNumber\n      scenario {\n        id\n        theme\n        prompt\n        choices {\n          id\n          label\n        }\n      }\n    }\n    ... on PlayerTyping {\n      player {\n        id\n        name\n      }\n      typing\n    }\n  }\n}": typeof types.GameEventsDocument,
    "fragment GameFields on Game {\n  code\n  name\n  status\n  maxPlayers\n  turnNumber\n  cursor\n  host {\n    id\n    name\n  }\n  players {\n    player {\n      id\n      name\n    }\n    online\n    hasChosen\n    isHost\n  }\n  scenario {\n    id\n    theme\n    prompt\n    choices {\n      id\n      label\n    }\n  }\n}": typeof types.GameFieldsFragmentDoc,
    "query GameRoom($code: String!) {\n  game(code: $code) {\n    ...GameFields\n  }\n}": typeof types.GameRoomDocument,
    "query GameSummary($code: String!) {\n  game(code: $code) {\n    code\n    name\n    cursor\n  }\n}": typeof types.GameSummaryDocument,
    "subscription GameTurnResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n    }\n  }\n}": typeof types.GameTurnResultsDocument,
    "mutation JoinGame($code: String!) {\n  joinGame(code: $code) {\n    ...GameFields\n  }\n}": typeof types.JoinGameDocument,
    "mutation LeaveGame($code: String!) {\n  leaveGame(code: $code) {\n    code\n    status\n  }\n}": typeof types.LeaveGameDocument,
    "query MarketOverview($historyLast: Int) {\n  stocks {\n    symbol\n    name\n    price\n    openPrice\n    change\n    changePercent\n    volume\n    updatedAt\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}": typeof types.MarketOverviewDocument,
    "subscription MarketTicker($symbols: [String!], $after: String) {\n  stockTicked(symbols: $symbols, after: $after) {\n    cursor\n    symbol\n    price\n    change\n    changePercent\n    at\n  }\n}": typeof types.MarketTickerDocument,
    "query Me {\n  me {\n    id\n    name\n    role\n  }\n}": typeof types.MeDocument,
    "query MyGames {\n  games(status: ACTIVE) {\n    code\n    name\n    turnNumber\n    maxPlayers\n    players {\n      player {\n        id\n      }\n    }\n  }\n}": typeof types.MyGamesDocument,
    "mutation PlaceOrder($symbol: String!, $side: OrderSide!, $quantity: Int!, $strategy: String, $idempotencyKey: String) {\n  placeOrder(\n    symbol: $symbol\n    side: $side\n    quantity: $quantity\n    strategy: $strategy\n    idempotencyKey: $idempotencyKey\n  ) {\n    ...TradeFields\n  }\n}": typeof types.PlaceOrderDocument,
    "subscription PnlTicked {\n  pnlTicked {\n    at\n    totalValue\n    totalPnl\n    todayPnl\n    realizedPnl\n    unrealizedPnl\n    drawdown\n    strategies {\n      ...StrategyFields\n    }\n  }\n}": typeof types.PnlTickedDocument,
    "subscription PortfolioChanged {\n  portfolioChanged {\n    ...PortfolioFields\n  }\n}": typeof types.PortfolioChangedDocument,
    "fragment PortfolioFields on Portfolio {\n  cash\n  realizedPnl\n  unrealizedPnl\n  totalValue\n  positions {\n    symbol\n    quantity\n    averageCost\n    marketValue\n    unrealizedPnl\n  }\n  strategies {\n    strategy\n    positions {\n      symbol\n      quantity\n      averageCost\n    }\n  }\n}": typeof types.PortfolioFieldsFragmentDoc,
    "query Portfolio {\n  portfolio {\n    ...PortfolioFields\n  }\n}": typeof types.PortfolioDocument,
    "subscription Presence($code: String!) {\n  presence(code: $code) {\n    code\n    onlineCount\n    totalPlayers\n    players {\n      player {\n        id\n        name\n      }\n      online\n      lastSeenAt\n    }\n  }\n}": typeof types.PresenceDocument,
    "mutation ResolveTurn($code: String!, $turnNumber: Int) {\n  resolveTurn(code: $code, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    outcome\n  }\n}": typeof types.ResolveTurnDocument,
    "mutation SetStockPrice($symbol: String!, $price: Float!) {\n  setStockPrice(symbol: $symbol, price: $price) {\n    symbol\n    price\n    change\n    changePercent\n    updatedAt\n  }\n}": typeof types.SetStockPriceDocument,
    "mutation SetTyping($code: String!, $typing: Boolean!) {\n  setTyping(code: $code, typing: $typing)\n}": typeof types.SetTypingDocument,
    "mutation ShiftFactionInfluence($factionId: ID!, $delta: Float!, $reason: String!) {\n  shiftFactionInfluence(factionId: $factionId, delta: $delta, reason: $reason) {\n    id\n    name\n    influence\n    lastChange\n  }\n}": typeof types.ShiftFactionInfluenceDocument,
    "mutation SignIn($name: String!) {\n  signIn(name: $name) {\n    token\n    player {\n      id\n      name\n      role\n    }\n  }\n}": typeof types.SignInDocument,
    "fragment StockFields on Stock {\n  symbol\n  name\n  price\n  change\n  changePercent\n  volume\n  updatedAt\n}": typeof types.StockFieldsFragmentDoc,
    "query Stock($symbol: String!, $historyLast: Int) {\n  stock(symbol: $symbol) {\n    ...StockFields\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}": typeof types.StockDocument,
    "query Stocks {\n  stocks {\n    ...StockFields\n  }\n}": typeof types.StocksDocument,
    "fragment StrategyFields on StrategyPnl {\n  strategy\n  realizedPnl\n  unrealizedPnl\n  totalPnl\n  trades\n  wins\n  losses\n  winRate\n}": typeof types.StrategyFieldsFragmentDoc,
    "mutation SubmitChoice($code: String!, $choiceId: ID!, $turnNumber: Int) {\n  submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    choicesSubmitted\n    totalPlayers\n    allSubmitted\n  }\n}": typeof types.SubmitChoiceDocument,
    "subscription TelegramGameResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved, PlayerLeft]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        label\n      }\n    }\n    ... on PlayerLeft {\n      remainingPlayers\n    }\n  }\n}": typeof types.TelegramGameResultsDocument,
    "query TelegramGame($code: String!) {\n  game(code: $code) {\n    code\n    name\n    status\n    turnNumber\n    cursor\n  }\n}": typeof types.TelegramGameDocument,
    "subscription TradeExecuted($after: String) {\n  tradeExecuted(after: $after) {\n    ...TradeFields\n  }\n}": typeof types.TradeExecutedDocument,
    "fragment TradeFields on Trade {\n  id\n  cursor\n  symbol\n  side\n  quantity\n  price\n  strategy\n  realizedPnl\n  at\n}": typeof types.TradeFieldsFragmentDoc,
    "query TradingDesk($interval: PnlInterval!, $from: DateTime, $month: String!, $trades: Int = 20) {\n  portfolio {\n    totalValue\n    totalPnl\n    todayPnl\n    strategies {\n      ...StrategyFields\n    }\n    trades(last: $trades) {\n      ...TradeFields\n    }\n    pnlHistory(interval: $interval, from: $from) {\n      at\n      equity\n      pnl\n      drawdown\n      drawdownPercent\n    }\n    pnlCalendar(month: $month) {\n      date\n      pnl\n      trades\n      wins\n      losses\n    }\n    drawdown {\n      max\n      maxPercent\n      peakAt\n      troughAt\n      recoveredAt\n      current\n      currentPercent\n    }\n  }\n}": typeof types.TradingDeskDocument,
    "query WorldEvents($last: Int) {\n  worldEvents(last: $last) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": typeof types.WorldEventsDocument,
    "subscription WorldFeed($kinds: [String!], $after: String) {\n  worldEvents(kinds: $kinds, after: $after) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": typeof types.WorldFeedDocument,
};
const documents: Documents = {
    "mutation AnnounceWorldEvent($message: String!, $kind: String, $severity: Severity) {\n  announceWorldEvent(message: $message, kind: $kind, severity: $severity) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": types.AnnounceWorldEventDocument,
    "mutation CreateGame($name: String!, $maxPlayers: Int) {\n  createGame(name: $name, maxPlayers: $maxPlayers) {\n    ...GameFields\n  }\n}": types.CreateGameDocument,
    "subscription FactionInfluence($after: String) {\n  factionInfluenceChanged(after: $after) {\n    cursor\n    delta\n    reason\n    at\n    faction {\n      id\n      name\n      influence\n      lastChange\n    }\n  }\n}": types.FactionInfluenceDocument,
    "query Factions {\n  factions {\n    id\n    name\n    influence\n    lastChange\n  }\n}": types.FactionsDocument,
    "subscription GameEvents($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after) {\n    __typename\n    cursor\n    at\n    ... on PlayerJoined {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerLeft {\n      player {\n        id\n        name\n      }\n      newHost {\n        id\n        name\n      }\n    }\n    ... on PlayerConnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerDisconnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on ChoiceSubmitted {\n      player {\n        id\n        name\n      }\n      turnNumber\n      choicesSubmitted\n      totalPlayers\n      allSubmitted\n      waitingFor {\n        id\n        name\n      }\n    }\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n      votes {\n        choice {\n          id\n          label\n        }\n        count\n      }\n      resolvedBy {\n        id\n        name\n      }\n    }\n    ... on ScenarioStarted {\n      turnNumber\n      scenario {\n        id\n        theme\n        prompt\n        choices {\n          id\n          label\n        }\n      }\n    }\n    ... on PlayerTyping {\n      player {\n        id\n        name\n      }\n      typing\n    }\n  }\n}": types.GameEventsDocument,
    "fragment GameFields on Game {\n  code\n  name\n  status\n  maxPlayers\n  turnNumber\n  cursor\n  host {\n    id\n    name\n  }\n  players {\n    player {\n      id\n      name\n    }\n    online\n    hasChosen\n    isHost\n  }\n  scenario {\n    id\n    theme\n    prompt\n    choices {\n      id\n      label\n    }\n  }\n}": types.GameFieldsFragmentDoc,
    "query GameRoom($code: String!) {\n  game(code: $code) {\n    ...GameFields\n  }\n}": types.GameRoomDocument,
    "query GameSummary($code: String!) {\n  game(code: $code) {\n    code\n    name\n    cursor\n  }\n}": types.GameSummaryDocument,
    "subscription GameTurnResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n    }\n  }\n}": types.GameTurnResultsDocument,
    "mutation JoinGame($code: String!) {\n  joinGame(code: $code) {\n    ...GameFields\n  }\n}": types.JoinGameDocument,
    "mutation LeaveGame($code: String!) {\n  leaveGame(code: $code) {\n    code\n    status\n  }\n}": types.LeaveGameDocument,
    "query MarketOverview($historyLast: Int) {\n  stocks {\n    symbol\n    name\n    price\n    openPrice\n    change\n    changePercent\n    volume\n    updatedAt\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}": types.MarketOverviewDocument,
    "subscription MarketTicker($symbols: [String!], $after: String) {\n  stockTicked(symbols: $symbols, after: $after) {\n    cursor\n    symbol\n    price\n    change\n    changePercent\n    at\n  }\n}": types.MarketTickerDocument,
    "query Me {\n  me {\n    id\n    name\n    role\n  }\n}": types.MeDocument,
    "query MyGames {\n  games(status: ACTIVE) {\n    code\n    name\n    turnNumber\n    maxPlayers\n    players {\n      player {\n        id\n      }\n    }\n  }\n}": types.MyGamesDocument,
    "mutation PlaceOrder($symbol: String!, $side: OrderSide!, $quantity: Int!, $strategy: String, $idempotencyKey: String) {\n  placeOrder(\n    symbol: $symbol\n    side: $side\n    quantity: $quantity\n    strategy: $strategy\n    idempotencyKey: $idempotencyKey\n  ) {\n    ...TradeFields\n  }\n}": types.PlaceOrderDocument,
    "subscription PnlTicked {\n  pnlTicked {\n    at\n    totalValue\n    totalPnl\n    todayPnl\n    realizedPnl\n    unrealizedPnl\n    drawdown\n    strategies {\n      ...StrategyFields\n    }\n  }\n}": types.PnlTickedDocument,
    "subscription PortfolioChanged {\n  portfolioChanged {\n    ...PortfolioFields\n  }\n}": types.PortfolioChangedDocument,
    "fragment PortfolioFields on Portfolio {\n  cash\n  realizedPnl\n  unrealizedPnl\n  totalValue\n  positions {\n    symbol\n    quantity\n    averageCost\n    marketValue\n    unrealizedPnl\n  }\n  strategies {\n    strategy\n    positions {\n      symbol\n      quantity\n      averageCost\n    }\n  }\n}": types.PortfolioFieldsFragmentDoc,
    "query Portfolio {\n  portfolio {\n    ...PortfolioFields\n  }\n}": types.PortfolioDocument,
    "subscription Presence($code: String!) {\n  presence(code: $code) {\n    code\n    onlineCount\n    totalPlayers\n    players {\n      player {\n        id\n        name\n      }\n      online\n      lastSeenAt\n    }\n  }\n}": types.PresenceDocument,
    "mutation ResolveTurn($code: String!, $turnNumber: Int) {\n  resolveTurn(code: $code, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    outcome\n  }\n}": types.ResolveTurnDocument,
    "mutation SetStockPrice($symbol: String!, $price: Float!) {\n  setStockPrice(symbol: $symbol, price: $price) {\n    symbol\n    price\n    change\n    changePercent\n    updatedAt\n  }\n}": types.SetStockPriceDocument,
    "mutation SetTyping($code: String!, $typing: Boolean!) {\n  setTyping(code: $code, typing: $typing)\n}": types.SetTypingDocument,
    "mutation ShiftFactionInfluence($factionId: ID!, $delta: Float!, $reason: String!) {\n  shiftFactionInfluence(factionId: $factionId, delta: $delta, reason: $reason) {\n    id\n    name\n    influence\n    lastChange\n  }\n}": types.ShiftFactionInfluenceDocument,
    "mutation SignIn($name: String!) {\n  signIn(name: $name) {\n    token\n    player {\n      id\n      name\n      role\n    }\n  }\n}": types.SignInDocument,
    "fragment StockFields on Stock {\n  symbol\n  name\n  price\n  change\n  changePercent\n  volume\n  updatedAt\n}": types.StockFieldsFragmentDoc,
    "query Stock($symbol: String!, $historyLast: Int) {\n  stock(symbol: $symbol) {\n    ...StockFields\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}": types.StockDocument,
    "query Stocks {\n  stocks {\n    ...StockFields\n  }\n}": types.StocksDocument,
    "fragment StrategyFields on StrategyPnl {\n  strategy\n  realizedPnl\n  unrealizedPnl\n  totalPnl\n  trades\n  wins\n  losses\n  winRate\n}": types.StrategyFieldsFragmentDoc,
    "mutation SubmitChoice($code: String!, $choiceId: ID!, $turnNumber: Int) {\n  submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    choicesSubmitted\n    totalPlayers\n    allSubmitted\n  }\n}": types.SubmitChoiceDocument,
    "subscription TelegramGameResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved, PlayerLeft]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        label\n      }\n    }\n    ... on PlayerLeft {\n      remainingPlayers\n    }\n  }\n}": types.TelegramGameResultsDocument,
    "query TelegramGame($code: String!) {\n  game(code: $code) {\n    code\n    name\n    status\n    turnNumber\n    cursor\n  }\n}": types.TelegramGameDocument,
    "subscription TradeExecuted($after: String) {\n  tradeExecuted(after: $after) {\n    ...TradeFields\n  }\n}": types.TradeExecutedDocument,
    "fragment TradeFields on Trade {\n  id\n  cursor\n  symbol\n  side\n  quantity\n  price\n  strategy\n  realizedPnl\n  at\n}": types.TradeFieldsFragmentDoc,
    "query TradingDesk($interval: PnlInterval!, $from: DateTime, $month: String!, $trades: Int = 20) {\n  portfolio {\n    totalValue\n    totalPnl\n    todayPnl\n    strategies {\n      ...StrategyFields\n    }\n    trades(last: $trades) {\n      ...TradeFields\n    }\n    pnlHistory(interval: $interval, from: $from) {\n      at\n      equity\n      pnl\n      drawdown\n      drawdownPercent\n    }\n    pnlCalendar(month: $month) {\n      date\n      pnl\n      trades\n      wins\n      losses\n    }\n    drawdown {\n      max\n      maxPercent\n      peakAt\n      troughAt\n      recoveredAt\n      current\n      currentPercent\n    }\n  }\n}": types.TradingDeskDocument,
    "query WorldEvents($last: Int) {\n  worldEvents(last: $last) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": types.WorldEventsDocument,
    "subscription WorldFeed($kinds: [String!], $after: String) {\n  worldEvents(kinds: $kinds, after: $after) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}": types.WorldFeedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation AnnounceWorldEvent($message: String!, $kind: String, $severity: Severity) {\n  announceWorldEvent(message: $message, kind: $kind, severity: $severity) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"): (typeof documents)["mutation AnnounceWorldEvent($message: String!, $kind: String, $severity: Severity) {\n  announceWorldEvent(message: $message, kind: $kind, severity: $severity) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation CreateGame($name: String!, $maxPlayers: Int) {\n  createGame(name: $name, maxPlayers: $maxPlayers) {\n    ...GameFields\n  }\n}"): (typeof documents)["mutation CreateGame($name: String!, $maxPlayers: Int) {\n  createGame(name: $name, maxPlayers: $maxPlayers) {\n    ...GameFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription FactionInfluence($after: String) {\n  factionInfluenceChanged(after: $after) {\n    cursor\n    delta\n    reason\n    at\n    faction {\n      id\n      name\n      influence\n      lastChange\n    }\n  }\n}"): (typeof documents)["subscription FactionInfluence($after: String) {\n  factionInfluenceChanged(after: $after) {\n    cursor\n    delta\n    reason\n    at\n    faction {\n      id\n      name\n      influence\n      lastChange\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Factions {\n  factions {\n    id\n    name\n    influence\n    lastChange\n  }\n}"): (typeof documents)["query Factions {\n  factions {\n    id\n    name\n    influence\n    lastChange\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription GameEvents($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after) {\n    __typename\n    cursor\n    at\n    ... on PlayerJoined {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerLeft {\n      player {\n        id\n        name\n      }\n      newHost {\n        id\n        name\n      }\n    }\n    ... on PlayerConnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerDisconnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on ChoiceSubmitted {\n      player {\n        id\n        name\n      }\n      turnNumber\n      choicesSubmitted\n      totalPlayers\n      allSubmitted\n      waitingFor {\n        id\n        name\n      }\n    }\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n      votes {\n        choice {\n          id\n          label\n        }\n        count\n      }\n      resolvedBy {\n        id\n        name\n      }\n    }\n    ... on ScenarioStarted {\n      turnNumber\n      scenario {\n        id\n        theme\n        prompt\n        choices {\n          id\n          label\n        }\n      }\n    }\n    ... on PlayerTyping {\n      player {\n        id\n        name\n      }\n      typing\n    }\n  }\n}"): (typeof documents)["subscription GameEvents($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after) {\n    __typename\n    cursor\n    at\n    ... on PlayerJoined {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerLeft {\n      player {\n        id\n        name\n      }\n      newHost {\n        id\n        name\n      }\n    }\n    ... on PlayerConnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on PlayerDisconnected {\n      player {\n        id\n        name\n      }\n    }\n    ... on ChoiceSubmitted {\n      player {\n        id\n        name\n      }\n      turnNumber\n      choicesSubmitted\n      totalPlayers\n      allSubmitted\n      waitingFor {\n        id\n        name\n      }\n    }\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n      votes {\n        choice {\n          id\n          label\n        }\n        count\n      }\n      resolvedBy {\n        id\n        name\n      }\n    }\n    ... on ScenarioStarted {\n      turnNumber\n      scenario {\n        id\n        theme\n        prompt\n        choices {\n          id\n          label\n        }\n      }\n    }\n    ... on PlayerTyping {\n      player {\n        id\n        name\n      }\n      typing\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment GameFields on Game {\n  code\n  name\n  status\n  maxPlayers\n  turnNumber\n  cursor\n  host {\n    id\n    name\n  }\n  players {\n    player {\n      id\n      name\n    }\n    online\n    hasChosen\n    isHost\n  }\n  scenario {\n    id\n    theme\n    prompt\n    choices {\n      id\n      label\n    }\n  }\n}"): (typeof documents)["fragment GameFields on Game {\n  code\n  name\n  status\n  maxPlayers\n  turnNumber\n  cursor\n  host {\n    id\n    name\n  }\n  players {\n    player {\n      id\n      name\n    }\n    online\n    hasChosen\n    isHost\n  }\n  scenario {\n    id\n    theme\n    prompt\n    choices {\n      id\n      label\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query GameRoom($code: String!) {\n  game(code: $code) {\n    ...GameFields\n  }\n}"): (typeof documents)["query GameRoom($code: String!) {\n  game(code: $code) {\n    ...GameFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query GameSummary($code: String!) {\n  game(code: $code) {\n    code\n    name\n    cursor\n  }\n}"): (typeof documents)["query GameSummary($code: String!) {\n  game(code: $code) {\n    code\n    name\n    cursor\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription GameTurnResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n    }\n  }\n}"): (typeof documents)["subscription GameTurnResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        id\n        label\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation JoinGame($code: String!) {\n  joinGame(code: $code) {\n    ...GameFields\n  }\n}"): (typeof documents)["mutation JoinGame($code: String!) {\n  joinGame(code: $code) {\n    ...GameFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LeaveGame($code: String!) {\n  leaveGame(code: $code) {\n    code\n    status\n  }\n}"): (typeof documents)["mutation LeaveGame($code: String!) {\n  leaveGame(code: $code) {\n    code\n    status\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MarketOverview($historyLast: Int) {\n  stocks {\n    symbol\n    name\n    price\n    openPrice\n    change\n    changePercent\n    volume\n    updatedAt\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}"): (typeof documents)["query MarketOverview($historyLast: Int) {\n  stocks {\n    symbol\n    name\n    price\n    openPrice\n    change\n    changePercent\n    volume\n    updatedAt\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription MarketTicker($symbols: [String!], $after: String) {\n  stockTicked(symbols: $symbols, after: $after) {\n    cursor\n    symbol\n    price\n    change\n    changePercent\n    at\n  }\n}"): (typeof documents)["subscription MarketTicker($symbols: [String!], $after: String) {\n  stockTicked(symbols: $symbols, after: $after) {\n    cursor\n    symbol\n    price\n    change\n    changePercent\n    at\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    name\n    role\n  }\n}"): (typeof documents)["query Me {\n  me {\n    id\n    name\n    role\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyGames {\n  games(status: ACTIVE) {\n    code\n    name\n    turnNumber\n    maxPlayers\n    players {\n      player {\n        id\n      }\n    }\n  }\n}"): (typeof documents)["query MyGames {\n  games(status: ACTIVE) {\n    code\n    name\n    turnNumber\n    maxPlayers\n    players {\n      player {\n        id\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PlaceOrder($symbol: String!, $side: OrderSide!, $quantity: Int!, $strategy: String, $idempotencyKey: String) {\n  placeOrder(\n    symbol: $symbol\n    side: $side\n    quantity: $quantity\n    strategy: $strategy\n    idempotencyKey: $idempotencyKey\n  ) {\n    ...TradeFields\n  }\n}"): (typeof documents)["mutation PlaceOrder($symbol: String!, $side: OrderSide!, $quantity: Int!, $strategy: String, $idempotencyKey: String) {\n  placeOrder(\n    symbol: $symbol\n    side: $side\n    quantity: $quantity\n    strategy: $strategy\n    idempotencyKey: $idempotencyKey\n  ) {\n    ...TradeFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription PnlTicked {\n  pnlTicked {\n    at\n    totalValue\n    totalPnl\n    todayPnl\n    realizedPnl\n    unrealizedPnl\n    drawdown\n    strategies {\n      ...StrategyFields\n    }\n  }\n}"): (typeof documents)["subscription PnlTicked {\n  pnlTicked {\n    at\n    totalValue\n    totalPnl\n    todayPnl\n    realizedPnl\n    unrealizedPnl\n    drawdown\n    strategies {\n      ...StrategyFields\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription PortfolioChanged {\n  portfolioChanged {\n    ...PortfolioFields\n  }\n}"): (typeof documents)["subscription PortfolioChanged {\n  portfolioChanged {\n    ...PortfolioFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment PortfolioFields on Portfolio {\n  cash\n  realizedPnl\n  unrealizedPnl\n  totalValue\n  positions {\n    symbol\n    quantity\n    averageCost\n    marketValue\n    unrealizedPnl\n  }\n  strategies {\n    strategy\n    positions {\n      symbol\n      quantity\n      averageCost\n    }\n  }\n}"): (typeof documents)["fragment PortfolioFields on Portfolio {\n  cash\n  realizedPnl\n  unrealizedPnl\n  totalValue\n  positions {\n    symbol\n    quantity\n    averageCost\n    marketValue\n    unrealizedPnl\n  }\n  strategies {\n    strategy\n    positions {\n      symbol\n      quantity\n      averageCost\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Portfolio {\n  portfolio {\n    ...PortfolioFields\n  }\n}"): (typeof documents)["query Portfolio {\n  portfolio {\n    ...PortfolioFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription Presence($code: String!) {\n  presence(code: $code) {\n    code\n    onlineCount\n    totalPlayers\n    players {\n      player {\n        id\n        name\n      }\n      online\n      lastSeenAt\n    }\n  }\n}"): (typeof documents)["subscription Presence($code: String!) {\n  presence(code: $code) {\n    code\n    onlineCount\n    totalPlayers\n    players {\n      player {\n        id\n        name\n      }\n      online\n      lastSeenAt\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ResolveTurn($code: String!, $turnNumber: Int) {\n  resolveTurn(code: $code, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    outcome\n  }\n}"): (typeof documents)["mutation ResolveTurn($code: String!, $turnNumber: Int) {\n  resolveTurn(code: $code, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    outcome\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetStockPrice($symbol: String!, $price: Float!) {\n  setStockPrice(symbol: $symbol, price: $price) {\n    symbol\n    price\n    change\n    changePercent\n    updatedAt\n  }\n}"): (typeof documents)["mutation SetStockPrice($symbol: String!, $price: Float!) {\n  setStockPrice(symbol: $symbol, price: $price) {\n    symbol\n    price\n    change\n    changePercent\n    updatedAt\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SetTyping($code: String!, $typing: Boolean!) {\n  setTyping(code: $code, typing: $typing)\n}"): (typeof documents)["mutation SetTyping($code: String!, $typing: Boolean!) {\n  setTyping(code: $code, typing: $typing)\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ShiftFactionInfluence($factionId: ID!, $delta: Float!, $reason: String!) {\n  shiftFactionInfluence(factionId: $factionId, delta: $delta, reason: $reason) {\n    id\n    name\n    influence\n    lastChange\n  }\n}"): (typeof documents)["mutation ShiftFactionInfluence($factionId: ID!, $delta: Float!, $reason: String!) {\n  shiftFactionInfluence(factionId: $factionId, delta: $delta, reason: $reason) {\n    id\n    name\n    influence\n    lastChange\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SignIn($name: String!) {\n  signIn(name: $name) {\n    token\n    player {\n      id\n      name\n      role\n    }\n  }\n}"): (typeof documents)["mutation SignIn($name: String!) {\n  signIn(name: $name) {\n    token\n    player {\n      id\n      name\n      role\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment StockFields on Stock {\n  symbol\n  name\n  price\n  change\n  changePercent\n  volume\n  updatedAt\n}"): (typeof documents)["fragment StockFields on Stock {\n  symbol\n  name\n  price\n  change\n  changePercent\n  volume\n  updatedAt\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Stock($symbol: String!, $historyLast: Int) {\n  stock(symbol: $symbol) {\n    ...StockFields\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}"): (typeof documents)["query Stock($symbol: String!, $historyLast: Int) {\n  stock(symbol: $symbol) {\n    ...StockFields\n    history(last: $historyLast) {\n      price\n      at\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Stocks {\n  stocks {\n    ...StockFields\n  }\n}"): (typeof documents)["query Stocks {\n  stocks {\n    ...StockFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment StrategyFields on StrategyPnl {\n  strategy\n  realizedPnl\n  unrealizedPnl\n  totalPnl\n  trades\n  wins\n  losses\n  winRate\n}"): (typeof documents)["fragment StrategyFields on StrategyPnl {\n  strategy\n  realizedPnl\n  unrealizedPnl\n  totalPnl\n  trades\n  wins\n  losses\n  winRate\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SubmitChoice($code: String!, $choiceId: ID!, $turnNumber: Int) {\n  submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    choicesSubmitted\n    totalPlayers\n    allSubmitted\n  }\n}"): (typeof documents)["mutation SubmitChoice($code: String!, $choiceId: ID!, $turnNumber: Int) {\n  submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turnNumber) {\n    cursor\n    turnNumber\n    choicesSubmitted\n    totalPlayers\n    allSubmitted\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription TelegramGameResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved, PlayerLeft]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        label\n      }\n    }\n    ... on PlayerLeft {\n      remainingPlayers\n    }\n  }\n}"): (typeof documents)["subscription TelegramGameResults($code: String!, $after: String) {\n  gameEvents(code: $code, after: $after, types: [TurnResolved, PlayerLeft]) {\n    __typename\n    cursor\n    at\n    ... on TurnResolved {\n      turnNumber\n      outcome\n      choice {\n        label\n      }\n    }\n    ... on PlayerLeft {\n      remainingPlayers\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TelegramGame($code: String!) {\n  game(code: $code) {\n    code\n    name\n    status\n    turnNumber\n    cursor\n  }\n}"): (typeof documents)["query TelegramGame($code: String!) {\n  game(code: $code) {\n    code\n    name\n    status\n    turnNumber\n    cursor\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription TradeExecuted($after: String) {\n  tradeExecuted(after: $after) {\n    ...TradeFields\n  }\n}"): (typeof documents)["subscription TradeExecuted($after: String) {\n  tradeExecuted(after: $after) {\n    ...TradeFields\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment TradeFields on Trade {\n  id\n  cursor\n  symbol\n  side\n  quantity\n  price\n  strategy\n  realizedPnl\n  at\n}"): (typeof documents)["fragment TradeFields on Trade {\n  id\n  cursor\n  symbol\n  side\n  quantity\n  price\n  strategy\n  realizedPnl\n  at\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TradingDesk($interval: PnlInterval!, $from: DateTime, $month: String!, $trades: Int = 20) {\n  portfolio {\n    totalValue\n    totalPnl\n    todayPnl\n    strategies {\n      ...StrategyFields\n    }\n    trades(last: $trades) {\n      ...TradeFields\n    }\n    pnlHistory(interval: $interval, from: $from) {\n      at\n      equity\n      pnl\n      drawdown\n      drawdownPercent\n    }\n    pnlCalendar(month: $month) {\n      date\n      pnl\n      trades\n      wins\n      losses\n    }\n    drawdown {\n      max\n      maxPercent\n      peakAt\n      troughAt\n      recoveredAt\n      current\n      currentPercent\n    }\n  }\n}"): (typeof documents)["query TradingDesk($interval: PnlInterval!, $from: DateTime, $month: String!, $trades: Int = 20) {\n  portfolio {\n    totalValue\n    totalPnl\n    todayPnl\n    strategies {\n      ...StrategyFields\n    }\n    trades(last: $trades) {\n      ...TradeFields\n    }\n    pnlHistory(interval: $interval, from: $from) {\n      at\n      equity\n      pnl\n      drawdown\n      drawdownPercent\n    }\n    pnlCalendar(month: $month) {\n      date\n      pnl\n      trades\n      wins\n      losses\n    }\n    drawdown {\n      max\n      maxPercent\n      peakAt\n      troughAt\n      recoveredAt\n      current\n      currentPercent\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query WorldEvents($last: Int) {\n  worldEvents(last: $last) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"): (typeof documents)["query WorldEvents($last: Int) {\n  worldEvents(last: $last) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "subscription WorldFeed($kinds: [String!], $after: String) {\n  worldEvents(kinds: $kinds, after: $after) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"): (typeof documents)["subscription WorldFeed($kinds: [String!], $after: String) {\n  worldEvents(kinds: $kinds, after: $after) {\n    cursor\n    id\n    kind\n    message\n    severity\n    at\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;