using Reinforce.Tests.Envs;

namespace Reinforce.Tests.Golden;

/// <summary>Reference data that would make a comparison vacuous is refused, not silently passed.</summary>
public class GoldenGuardTests
{
    [Fact]
    public void A_Gymnasium_trajectory_with_no_steps_is_refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => GymnasiumReference.Parse(["{\"env\": \"CartPole-v1\", \"initial_state\": [0, 0, 0, 0], \"steps\": []}"], "test.jsonl"));
        Assert.Contains("no steps", e.Message, StringComparison.Ordinal);
        Assert.All(GymnasiumReference.All, t => Assert.NotEmpty(t.Steps));
    }

    [Fact]
    public void A_golden_case_with_an_empty_output_fails_the_comparison()
    {
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => GoldenData.AssertClose(new GoldenTensor([0], []), Reinforce.Tensors.Tensor.Zeros(0), what: "empty"));
        Assert.Contains("golden output is empty", e.Message, StringComparison.Ordinal);
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => GoldenData.AssertClose(ReadOnlySpan<double>.Empty, ReadOnlySpan<float>.Empty));
    }
}
