using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Kannon.Tests.Infrastructure;

/// <summary>Keeps every log record a host writes (add it as an <see cref="ILoggerProvider"/> service), so a test can check what was logged and why.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _records = new();

    public IReadOnlyList<CapturedLog> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _records);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> records) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            records.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception)));
    }
}
