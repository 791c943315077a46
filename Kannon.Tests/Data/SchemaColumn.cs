namespace Kannon.Tests.Data;

internal sealed record SchemaColumn(string Table, string Column, string DataType, bool IsNullable);
