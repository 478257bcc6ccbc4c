// Cursor pagination as async iteration: `for await (const e of client.events.list(q))` reads page after page,
// one request per page, only as fast as the loop consumes. Browser-safe. It never holds more than one page.

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export class Paginator<T> implements AsyncIterable<T> {
  /** The cursor of the next page to read (null when the last page was read); save it to resume later. */
  cursor: string | null | undefined;

  constructor(
    private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
    startCursor?: string,
  ) {
    this.cursor = startCursor;
  }

  /** Page by page (each page's `nextCursor` resumes after it). */
  async *pages(): AsyncGenerator<Page<T>> {
    while (this.cursor !== null) {
      const page = await this.fetchPage(this.cursor);
      this.cursor = page.nextCursor;
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item, up to `max` (default: all of them — mind the size of what you ask for). */
  async toArray(max = Number.POSITIVE_INFINITY): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) {
      if (all.length >= max) break;
      all.push(item);
    }
    return all;
  }
}
