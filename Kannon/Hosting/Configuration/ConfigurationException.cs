namespace Kannon.Hosting.Configuration;

/// <summary>A setting that is missing or wrong; the message is one line that names the key.</summary>
internal sealed class ConfigurationException(string message) : Exception(message);
