using System.ComponentModel;
using System.Globalization;

namespace Kannon.Hosting.Configuration;

/// <summary>Lets configuration binding read <see cref="TimeSpan"/> values written as Go durations.</summary>
internal sealed class DurationConverter : TimeSpanConverter
{
    private static int _registered;

    /// <summary>The binder asks TypeDescriptor for TimeSpan's converter; this makes it ours, once per process.</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0)
        {
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
        }
    }

    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? Duration.Parse(text) : base.ConvertFrom(context, culture, value);
}
