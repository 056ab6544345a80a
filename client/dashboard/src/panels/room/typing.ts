import { useEffect, useRef, useState } from 'react';

/** How long another player's typing indicator may stay without news (the server clears it after 3 s). */
const typingStaleMs = 6_000; // 6 seconds

/** Who of the other players is choosing right now. */
export interface TypingIndicators {
  is(playerId: string): boolean;
  set(playerId: string, value: boolean): void;
  clear(playerId: string): void;
  clearAll(): void;
}

/** Other players' typing indicators, cleared when the server says so or when they go stale. */
export function useTypingIndicators(): TypingIndicators {
  const [typing, setTyping] = useState<Record<string, boolean>>({});
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);
  const set = (playerId: string, value: boolean) => {
    clearTimeout(timers.current.get(playerId));
    if (value) timers.current.set(playerId, setTimeout(() => set(playerId, false), typingStaleMs));
    setTyping((current) => ({ ...current, [playerId]: value }));
  };
  return {
    is: (playerId: string) => typing[playerId] === true,
    set,
    clear: (playerId: string) => set(playerId, false),
    clearAll: () => {
      timers.current.forEach((timer) => clearTimeout(timer));
      timers.current.clear();
      setTyping({});
    },
  };
}
