using Microsoft.Extensions.Logging;

namespace Kannon.Tests.Infrastructure;

internal sealed record CapturedLog(string Category, LogLevel Level, string Message);
