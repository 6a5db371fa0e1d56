// Ownership of disposables: everything a class registers is handed to its Disposable base and released
// exactly once, in reverse order, when the owner is disposed.

export interface IDisposable {
  dispose(): void;
}

export class Disposable implements IDisposable {
  private readonly owned: IDisposable[] = [];
  private isDisposed = false;

  protected get disposed(): boolean {
    return this.isDisposed;
  }

  /** Takes ownership of a disposable and returns it. */
  protected register<T extends IDisposable>(value: T): T {
    if (this.isDisposed) {
      value.dispose();
    } else {
      this.owned.push(value);
    }
    return value;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.isDisposed = true;
    while (this.owned.length) {
      this.owned.pop()!.dispose();
    }
  }
}
