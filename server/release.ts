/**
 * Ends one hold: a presence connection, a subscriber's place in a feed.
 * Calling it again does nothing. Lives on the lowest floor because holders
 * (presence trackers) and the code that takes holds (feeds, the fan-out,
 * games) sit on different floors and must not import each other for it.
 */
export type Release = () => Promise<void>;
