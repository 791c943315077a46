namespace Kannon.Hosting;

/// <summary>Which modules this process runs. The Sender alone never touches the database.</summary>
internal sealed record Roles(
    bool Api = false,
    bool Smtp = false,
    bool Sender = false,
    bool Dispatcher = false,
    bool Validator = false,
    bool Stats = false,
    bool Tracker = false)
{
    public static readonly Roles All = new(true, true, true, true, true, true, true);

    public bool Any => Api || Smtp || Sender || Dispatcher || Validator || Stats || Tracker;

    public bool NeedsDatabase => Api || Smtp || Dispatcher || Validator || Stats || Tracker;

    public bool NeedsNats => Any;

    public override string ToString()
    {
        var names = new List<string>();
        if (Api) names.Add("api");
        if (Smtp) names.Add("smtp");
        if (Sender) names.Add("sender");
        if (Dispatcher) names.Add("dispatcher");
        if (Validator) names.Add("validator");
        if (Stats) names.Add("stats");
        if (Tracker) names.Add("tracker");
        return string.Join(',', names);
    }
}
