/**
 * Windowing for long lists: only the rows in (and just around) the viewport are in the
 * DOM, positioned by prefix sums of their heights (measured once rendered, estimated
 * before), so 2,000 rows cost the same DOM as 20.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

const OVERSCAN = 6;

/** The first index whose offset is greater than `y` (offsets ascending). */
function upperBound(offsets: Float64Array, y: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Window {
  /** Attach to the scrolling element. */
  viewportRef: (el: HTMLDivElement | null) => void;
  /** Attach to each rendered row (reads `data-index`) so its real height is used. */
  measureRef: (el: HTMLElement | null) => void;
  onScroll: () => void;
  /** Height of all rows together. */
  total: number;
  /** The rows to render and where. */
  items: { index: number; top: number }[];
}

/** Return the window of `count` rows of about `estimate` px in a viewport of `height` px. */
export function useWindow(count: number, estimate: number, height: number): Window {
  const [heights, setHeights] = useState<ReadonlyMap<number, number>>(() => new Map());
  const [scrollTop, setScrollTop] = useState(0);
  const viewport = useRef<HTMLDivElement | null>(null);
  const observed = useRef(new Map<Element, number>());
  const observer = useRef<ResizeObserver | null>(null);

  const offsets = useMemo(() => {
    const out = new Float64Array(count + 1);
    for (let i = 0; i < count; i++) out[i + 1] = out[i] + (heights.get(i) ?? estimate);
    return out;
  }, [count, heights, estimate]);

  useEffect(() => {
    const ro = new ResizeObserver((entries) => {
      setHeights((prev) => {
        let next: Map<number, number> | null = null;
        for (const entry of entries) {
          const index = observed.current.get(entry.target);
          const h = (entry.target as HTMLElement).offsetHeight;
          if (index === undefined || h === 0 || prev.get(index) === h) continue;
          next ??= new Map(prev);
          next.set(index, h);
        }
        return next ?? prev;
      });
    });
    observer.current = ro;
    for (const el of observed.current.keys()) ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const measureRef = useCallback((el: HTMLElement | null) => {
    if (!el) return;
    const index = Number(el.dataset.index);
    for (const [known, i] of observed.current) {
      if (!known.isConnected || i === index) {
        observer.current?.unobserve(known);
        observed.current.delete(known);
      }
    }
    observed.current.set(el, index);
    observer.current?.observe(el);
  }, []);

  const viewportRef = useCallback((el: HTMLDivElement | null) => {
    viewport.current = el;
  }, []);
  const onScroll = useCallback(() => {
    if (viewport.current) setScrollTop(viewport.current.scrollTop);
  }, []);

  const first = Math.max(0, upperBound(offsets, scrollTop) - 1 - OVERSCAN);
  const last = Math.min(count, upperBound(offsets, scrollTop + height) + OVERSCAN);
  const items = [];
  for (let index = first; index < last; index++) items.push({ index, top: offsets[index] });
  return { viewportRef, measureRef, onScroll, total: offsets[count], items };
}
