namespace Kannon.Data;

internal sealed class MigrationException(string message) : Exception(message);
