using MqttIm.Broker.Cli;

namespace MqttIm.Broker.Tests;

public sealed class TokenCommandTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("12h", 43200)]
    [InlineData("7d", 604800)]
    [InlineData("1.5h", 5400)]
    [InlineData("01:00:00", 3600)]
    public void ParseDuration_Accepts(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), TokenCommand.ParseDuration(text));
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5m")]
    [InlineData("0s")]
    [InlineData("10x")]
    public void ParseDuration_Refuses(string text)
    {
        Assert.Null(TokenCommand.ParseDuration(text));
    }
}
