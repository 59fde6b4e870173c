"""Stage 3, compile: one walk per unit's formula, lowered to torch calls (fused where spreadsheets repeat)."""
